"""Rate limits per client address, counted in the shared cache.

The client address is the socket peer (``REMOTE_ADDR``) unless
``TRUSTED_PROXY_COUNT`` says how many proxies in front of the app append to
``X-Forwarded-For``. Each proxy appends the address it received the
connection from, so with N trusted proxies the N-th entry from the right was
written by our outermost proxy and is the real client; everything left of it
was sent by the client and may be forged. A forged header therefore never
changes the address a limit is counted against.

Limits per address count an IPv6 client per /64 network
(``IPV6_PREFIX_LENGTH``): one subscriber is normally given a whole /64, so
counting single IPv6 addresses would let a client rotate through 2**64 of them.

Counts live in Django's default cache (Redis when ``REDIS_URL`` is set), so a
limit holds across worker processes and servers. If the cache cannot be
reached, the request is allowed and a warning is logged: an outage of the
cache must not take logins down with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from bookstore.cache import RedisScript, default_redis

logger = logging.getLogger(__name__)

# One request counted in one round trip, as ``SharedCacheRateThrottle._count_request`` does in several.
# KEYS[1] the window's start. ARGV: [1] now as the cache stores it, [2] int(now * 1000), [3] the window in
# seconds, [4] the counter's lifetime, [5] the counter's name up to the window (Django's full key + ':').
# Returns {count, ''} for a window opened now, or {count, the stored start} for a running one. A start the
# script cannot read (neither a number nor a pickled float) returns {-1, ''}: the caller counts without it.
# The counter's name is built here from the start, so this needs one Redis server (not a cluster).
_COUNT_SCRIPT = """
local raw = ''
local start_ms = ARGV[2]
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
  raw = redis.call('GET', KEYS[1])
  if not raw then
    raw = ''
  else
    local start = tonumber(raw)
    if not start and string.len(raw) == 21 and string.sub(raw, 1, 1) == '\\128'
        and string.sub(raw, 3, 3) == '\\149'
        and string.sub(raw, 12, 12) == 'G' and string.sub(raw, 21, 21) == '.' then
      start = struct.unpack('>d', string.sub(raw, 13, 20))
    end
    if not start then return {-1, ''} end
    start_ms = string.format('%.0f', math.floor(start * 1000))
  end
end
local counter = ARGV[5] .. start_ms
redis.call('SET', counter, 0, 'NX', 'EX', ARGV[4])
return {redis.call('INCR', counter), raw}
"""
_count_script = RedisScript(_COUNT_SCRIPT)

# A counter outlives its window a little, so a request read at the very end of
# a window still finds it.
_COUNTER_GRACE_SECONDS = 5

#: IPv6 clients are counted per network of this size (the usual allocation to one subscriber).
IPV6_PREFIX_LENGTH = 64


def _normalized_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest | Request) -> str:
    """The address of the client that sent ``request``, as far as it can be trusted.

    ``settings.TRUSTED_PROXY_COUNT`` = 0: ``REMOTE_ADDR``; any
    ``X-Forwarded-For`` is ignored. N > 0: the N-th ``X-Forwarded-For`` entry
    from the right. When the header has fewer entries than that, or the entry
    is not an IP address, the request did not come through the configured
    proxies and ``REMOTE_ADDR`` is used.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    remote = _normalized_ip(remote_addr) or remote_addr
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if len(entries) < trusted:
        return remote
    return _normalized_ip(entries[-trusted]) or remote


def rate_limit_subject(address: str) -> str:
    """What a per-address limit counts ``address`` as: an IPv4 address, or the IPv6 /64 it belongs to.

    An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) counts as the IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX_LENGTH), strict=False))
    return str(ip)


class SharedCacheRateThrottle(SimpleRateThrottle):
    """A fixed-window limit per client address, counted atomically in the shared cache.

    The window opens with a client's first request and lasts the rate's
    period; ``cache.incr`` (atomic in Redis) counts every request in it, so
    concurrent requests on different workers can never slip past the limit
    together. Subclasses set ``scope`` and ``get_rate()``.
    """

    num_requests: int
    duration: int

    def __init__(self) -> None:
        super().__init__()
        self.retry_after: float | None = None

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"throttle:{self.scope}:{rate_limit_subject(client_ip(request))}"

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        now = self.timer()
        try:
            count, window_start = self._count_request(key, now)
        except Exception:  # the cache is down or misbehaving: fail open
            logger.warning(
                "rate limit not enforced: shared cache unavailable",
                extra={"scope": self.scope},
                exc_info=True,
            )
            return True
        if count <= self.num_requests:
            return True
        self.retry_after = max(window_start + self.duration - now, 1.0)
        return False

    def _count_request(self, key: str, now: float) -> tuple[int, float]:
        """Count one request in the client's current window; return (count, window start).

        With Redis as the cache, one round trip (``_COUNT_SCRIPT``); otherwise
        (or with a start the script cannot read) the same steps one by one.
        """
        counted = _count_in_redis(key, now, duration=self.duration)
        if counted is not None:
            return counted
        start_key = f"{key}:start"
        # add() is atomic: of concurrent first requests one opens the window, all read its start.
        window_start = now if cache.add(start_key, now, timeout=self.duration) else float(cache.get(start_key, now))
        # The counter is named after its window, so no backend has to keep a
        # TTL through ``incr`` for the window to end on time.
        count_key = f"{key}:{int(window_start * 1000)}"
        cache.add(count_key, 0, timeout=self.duration + _COUNTER_GRACE_SECONDS)
        try:
            count = int(cache.incr(count_key))
        except ValueError:  # evicted between add() and incr()
            count = 1
        return count, window_start

    def wait(self) -> float | None:
        return self.retry_after


def _count_in_redis(key: str, now: float, *, duration: int) -> tuple[int, float] | None:
    """``_count_request`` in one Redis round trip; ``None`` when the cache is not Redis or the start is unreadable.

    Writes and reads the very keys and values the step-by-step path does
    (``cache.add``/``get``/``incr`` through Django's serializer), so either
    path, and the coupon-failure check reading them, sees the same window.
    """
    target = default_redis()
    if target is None:
        return None
    client, backend = target
    serializer = backend._cache._serializer  # type: ignore[attr-defined]
    count, raw = _count_script(
        client,
        [backend.make_key(f"{key}:start")],
        [
            serializer.dumps(now),
            int(now * 1000),
            duration,
            duration + _COUNTER_GRACE_SECONDS,
            backend.make_key(f"{key}:"),
        ],
    )
    if count < 0:
        return None
    return int(count), float(serializer.loads(raw)) if raw else now


class AuthRateThrottle(SharedCacheRateThrottle):
    """``settings.AUTH_RATE_LIMIT`` (e.g. ``10/minute``) per client address, one budget for every way in.

    The API's auth endpoints and the admin login form (``bookstore.admin_login``)
    count against the same counter, so an attacker cannot guess passwords at
    the full rate on each of them.
    """

    scope = "auth"

    def get_rate(self) -> str:
        # Read per request (throttles are instantiated per request), not at import.
        return str(settings.AUTH_RATE_LIMIT)


class PasswordResetEmailThrottle(SharedCacheRateThrottle):
    """``settings.PASSWORD_RESET_EMAIL_RATE_LIMIT`` (e.g. ``3/hour``) per target email address.

    Counts requests for an address whether or not an account has it, so the
    limit itself tells nothing. The address is hashed into the cache key.
    """

    scope = "password-reset-email"

    def get_rate(self) -> str:
        return str(settings.PASSWORD_RESET_EMAIL_RATE_LIMIT)

    def get_cache_key(self, request: Any, view: Any) -> str:
        data = getattr(request, "data", None)
        email = data.get("email") if isinstance(data, dict) else None
        subject = str(email).strip().lower() if isinstance(email, str) else ""
        digest = hashlib.sha256(subject.encode()).hexdigest()
        return f"throttle:{self.scope}:{digest}"
