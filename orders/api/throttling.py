"""Rate limit on placing orders, per user: order spam (stock hoarding, coupon farming) is refused."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.throttling import SharedCacheRateThrottle


class OrderCreateRateThrottle(SharedCacheRateThrottle):
    """``settings.ORDER_RATE_LIMIT`` (e.g. ``30/minute``) order placements per user.

    Counted per account rather than per address, so one customer cannot flood
    the store from many addresses, and customers behind one shared address do
    not starve each other. Every attempt counts, replays and refusals included.
    """

    scope = "order_create"

    def get_rate(self) -> str:
        return str(settings.ORDER_RATE_LIMIT)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"throttle:{self.scope}:user:{request.user.pk}"
