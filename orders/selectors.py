"""Order reads, shaped for the API and the admin (related rows fetched up front)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from orders.models import BulkDiscountTier, Coupon, Order, OrderItem, StatusChange


def _orders() -> QuerySet[Order]:
    return (
        Order.objects.select_related("payment")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.order_by("id")),
            Prefetch("status_changes", queryset=StatusChange.objects.order_by("at", "id")),
        )
        .order_by("-created_at", "-id")
    )


def order_list(*, user: Any) -> QuerySet[Order]:
    """Orders ``user`` may see, newest first: all for staff, their own for customers.

    Items and status history are prefetched: three queries whatever the number of orders.
    """
    queryset = _orders()
    if not user.is_staff:
        queryset = queryset.filter(user=user)
    return queryset


def order_get(*, pk: int) -> Order:
    """One order with its items and status history (any owner: callers check visibility)."""
    return _orders().get(pk=pk)


def coupon_list() -> QuerySet[Coupon]:
    """Coupons with ``uses``: the number of their orders that are not cancelled."""
    return Coupon.objects.annotate(
        uses=Count("orders", filter=~Q(orders__status=Order.Status.CANCELLED), distinct=True)
    ).order_by("code", "id")


def discount_tier_list() -> QuerySet[BulkDiscountTier]:
    """Bulk discount tiers, smallest quantity first."""
    return BulkDiscountTier.objects.order_by("min_quantity")
