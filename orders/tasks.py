"""Periodic order jobs; thin wrappers over the order services, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from orders.expiry import order_expire_unpaid
from orders.idempotency import idempotency_key_purge
from orders.payments.records import payment_retry
from orders.popularity import recent_sales_refresh
from orders.rollup import sales_rollup_refresh

logger = logging.getLogger(__name__)
# A database hiccup retries the job with exponential backoff (jittered, at most 10 min apart).
RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(name="orders.idempotency_key_purge", acks_late=True, **RETRY)
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records past their 24 h lifetime."""
    deleted = idempotency_key_purge()
    logger.info("idempotency key purge: %s key(s) deleted", deleted)
    return deleted


@shared_task(name="orders.order_expire_unpaid", acks_late=True, **RETRY)
def expire_unpaid_orders() -> int:
    """Cancel pending orders whose payment window has passed."""
    return order_expire_unpaid()


@shared_task(name="orders.payment_retry", acks_late=True, **RETRY)
def retry_payments() -> int:
    """Create payment intents and carry out refunds that an outage or a crash left undone."""
    return payment_retry()


@shared_task(name="orders.sales_rollup_refresh", acks_late=True, **RETRY)
def refresh_sales_rollup() -> int:
    """Fold the last minute's order changes into the daily sales rollup (the reports also do it before reading)."""
    return sales_rollup_refresh()


@shared_task(name="orders.recent_sales_refresh", acks_late=True, **RETRY)
def refresh_recent_sales() -> int:
    """Daily: each book's copies sold in the last 90 days, for search ties and suggestions."""
    changed = recent_sales_refresh()
    logger.info("recent sales refresh: %s book(s) changed", changed)
    return changed
