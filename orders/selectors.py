"""Order reads, shaped for the API and the admin (related rows fetched up front)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.access import VIEW, staff_may
from orders.models import BulkDiscountTier, Coupon, Order, OrderItem, ShippingMethod, StatusChange


def order_list_with_details(*, orders: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """``orders`` (default: all) with their customer, items in id order and status history oldest first.

    The one shape every full view of an order reads (API, admin export,
    ``export_orders``): three queries whatever the number of orders, also when
    streamed with ``iterator(chunk_size=...)``. Callers choose the ordering.
    """
    queryset = Order.objects.all() if orders is None else orders
    return queryset.select_related("user", "payment").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("id")),
        Prefetch("status_changes", queryset=StatusChange.objects.select_related("by").order_by("at", "id")),
    )


def _orders() -> QuerySet[Order]:
    return order_list_with_details().order_by("-created_at", "-id")


def order_list(*, user: Any) -> QuerySet[Order]:
    """Orders ``user`` may see, newest first: all for staff who may view orders, their own for anyone else.

    Items and status history are prefetched: three queries whatever the number of orders.
    """
    queryset = _orders()
    if not staff_may(user, Order, VIEW):
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


def shipping_method_list(*, country: str) -> QuerySet[ShippingMethod]:
    """Active shipping methods that deliver to ``country`` (ISO code), cheapest first; one query.

    ``countries`` is stored as comma-separated two-letter codes, so a substring
    match on a two-letter code can only match a whole code.
    """
    return ShippingMethod.objects.filter(is_active=True, countries__contains=country.upper()).order_by(
        "price", "name", "id"
    )
