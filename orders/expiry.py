"""Unpaid orders expire: pending orders past the payment window are cancelled by the system."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from orders.exceptions import InvalidTransition
from orders.models import Order
from orders.payments.models import Provider
from orders.payments.providers import PROVIDERS, provider_get
from orders.services import order_transition

logger = logging.getLogger(__name__)


def payment_window(provider: str = Provider.MANUAL) -> timedelta:
    """How long a pending order waits for its payment: ``ORDER_PAYMENT_TIMEOUT`` for Stripe,
    ``MANUAL_PAYMENT_DAYS`` for manual payment (and for orders placed before payments were recorded)."""
    return provider_get(provider).payment_window()


def _expired(now: datetime) -> Q:
    """Pending orders past their own provider's payment window."""
    due = Q(payment__isnull=True, created_at__lt=now - payment_window())
    for name in PROVIDERS:
        due |= Q(payment__provider=name, created_at__lt=now - payment_window(name))
    return due


def order_expire_unpaid(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel pending orders placed before their payment window; returns how many were cancelled.

    Each goes through ``order_transition(by=None)``, so stock and the coupon
    use come back and the history shows the system as the actor. An order
    paid or cancelled meanwhile is skipped, so running this twice is harmless.
    """
    expired = list(
        Order.objects.filter(_expired(now or timezone.now()), status=Order.Status.PENDING).order_by("created_at")[
            :limit
        ]
    )
    cancelled = 0
    for order in expired:
        try:
            order_transition(order=order, to=Order.Status.CANCELLED, by=None, only_from=Order.Status.PENDING)
        except InvalidTransition:
            continue  # paid or cancelled since the query above (checked under the order's lock)
        cancelled += 1
    if cancelled:
        logger.info("order expiry: %s unpaid order(s) cancelled", cancelled)
    return cancelled
