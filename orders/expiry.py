"""Unpaid orders expire: pending orders past the payment window are cancelled by the system."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from orders.exceptions import InvalidTransition
from orders.models import Order
from orders.services import order_transition

logger = logging.getLogger(__name__)


def payment_window() -> timedelta:
    """How long a pending order waits for its payment (manual payment: ``MANUAL_PAYMENT_DAYS``)."""
    return timedelta(days=settings.MANUAL_PAYMENT_DAYS)


def order_expire_unpaid(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel pending orders placed before the payment window; returns how many were cancelled.

    Each goes through ``order_transition(by=None)``, so stock and the coupon
    use come back and the history shows the system as the actor. An order
    paid or cancelled meanwhile is skipped, so running this twice is harmless.
    """
    cutoff = (now or timezone.now()) - payment_window()
    expired = list(
        Order.objects.filter(status=Order.Status.PENDING, created_at__lt=cutoff).order_by("created_at")[:limit]
    )
    cancelled = 0
    for order in expired:
        try:
            order_transition(order=order, to=Order.Status.CANCELLED, by=None)
        except InvalidTransition:
            continue  # paid or cancelled since the query above
        cancelled += 1
    if cancelled:
        logger.info("order expiry: %s unpaid order(s) cancelled", cancelled)
    return cancelled
