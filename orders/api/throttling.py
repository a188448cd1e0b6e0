"""Rate limits of the orders API: order spam, quote flooding and coupon-code guessing are refused."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled

from accounts.throttling import SharedCacheRateThrottle, client_ip, rate_limit_subject

logger = logging.getLogger(__name__)


def _caller(request: Any) -> str:
    """Signed-in callers are counted per account, anonymous ones per address (IPv6: per /64)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"address:{rate_limit_subject(client_ip(request))}"


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


class QuoteRateThrottle(SharedCacheRateThrottle):
    """``settings.QUOTE_RATE_LIMIT`` (e.g. ``60/minute``) quotes per user, or per address when anonymous."""

    scope = "order_quote"

    def get_rate(self) -> str:
        return str(settings.QUOTE_RATE_LIMIT)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"throttle:{self.scope}:{_caller(request)}"


class CouponFailureThrottle(SharedCacheRateThrottle):
    """``settings.COUPON_FAILURE_RATE_LIMIT`` (e.g. ``10/hour``) coupon codes that did not work, per caller.

    Quotes and orders tell an unknown code from an expired or inactive one, so
    without a limit they would let anyone enumerate codes. Only failed checks
    count (``record_failure``, called by the view when a coupon is refused);
    once a caller has spent the budget, every request of theirs that carries a
    coupon code is refused with ``429`` until the window ends, valid codes
    included, so the answer reveals nothing. Requests without a code are not
    affected. Quote and order placement share the budget.
    """

    scope = "coupon_failures"

    def get_rate(self) -> str:
        return str(settings.COUPON_FAILURE_RATE_LIMIT)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"throttle:{self.scope}:{_caller(request)}"

    def allow_request(self, request: Any, view: Any) -> bool:
        data = request.data
        if self.rate is None or not (isinstance(data, dict) and data.get("coupon_code")):
            return True
        key = self.get_cache_key(request, view)
        now = self.timer()
        try:
            window_start = cache.get(f"{key}:start")
            failures = 0 if window_start is None else int(cache.get(f"{key}:{int(float(window_start) * 1000)}", 0))
        except Exception:  # the cache is down or misbehaving: fail open, like every limit
            logger.warning("rate limit not enforced: shared cache unavailable", extra={"scope": self.scope})
            return True
        if failures < self.num_requests:
            return True
        wait = max(float(window_start) + self.duration - now, 1.0)
        raise Throttled(
            wait, detail="Too many coupon codes that could not be used. Try again later, or leave the code out."
        )

    def record_failure(self, request: Any) -> None:
        """Count one refused coupon code against the caller's budget."""
        if self.rate is None:
            return
        try:
            self._count_request(self.get_cache_key(request, None), self.timer())
        except Exception:
            logger.warning("coupon failure not counted: shared cache unavailable", extra={"scope": self.scope})
