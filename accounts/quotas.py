"""Daily call counters of API keys, shared by every app server.

Each key has one counter per UTC day. With Redis (``REDIS_URL``) a small Lua
script counts a call and checks the key's quota in one atomic round trip: a
call over the quota is refused and not counted, so concurrent calls on
different servers can never slip past the quota together. Without Redis
(SQLite development) the counters live in Django's default cache
(``cache.add`` + ``cache.incr``), atomic within one process.

A counter outlives its day by ``COUNTER_RETENTION`` so the periodic job
``api_key_usage_flush`` can copy the day's final count into the database
(``ApiKeyDailyUsage``) for the 30-day usage report. If the counters cannot be
reached, the call is allowed and a warning is logged: a cache outage must not
take every integration down with it.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from redis.exceptions import NoScriptError

from bookstore.cache import default_redis

logger = logging.getLogger(__name__)

#: How long a day's counter is kept after the day ends, for the usage flush to read it.
COUNTER_RETENTION = timedelta(days=2)

# KEYS[1] the day's counter; ARGV[1] the quota ("" for none); ARGV[2] the counter's expiry (Unix time).
# Returns {count after this call, 1 if the call is allowed else 0}.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
if ARGV[1] ~= '' and count > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {count - 1, 0}
end
return {count, 1}
"""
_script_sha: list[str] = []  # the script's SHA once loaded into Redis


def _run_count_script(client: Any, key: str, quota: int | str, expire_at: int) -> tuple[int, int]:
    """EVALSHA of the count script, loading it first when Redis does not know it (first call, restart)."""
    if not _script_sha:
        _script_sha.append(client.script_load(_COUNT_SCRIPT))
    try:
        count, allowed = client.execute_command("EVALSHA", _script_sha[0], 1, key, quota, expire_at)
    except NoScriptError:
        _script_sha[:] = [client.script_load(_COUNT_SCRIPT)]
        count, allowed = client.execute_command("EVALSHA", _script_sha[0], 1, key, quota, expire_at)
    return int(count), int(allowed)


@dataclass(frozen=True)
class QuotaState:
    """Where a key stands today, for the ``X-RateLimit-*`` headers."""

    limit: int | None  # None: no quota
    used: int
    reset_at: int  # Unix time of the next UTC midnight, when the count starts over
    allowed: bool = True

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def retry_after(self, now: datetime) -> int:
        return max(1, self.reset_at - int(now.timestamp()))

    def headers(self) -> dict[str, str]:
        remaining = self.remaining
        return {
            "X-RateLimit-Limit": "unlimited" if self.limit is None else str(self.limit),
            "X-RateLimit-Remaining": "unlimited" if remaining is None else str(remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def day_end(day: date) -> int:
    """Unix time of the midnight (UTC) that ends ``day``."""
    return calendar.timegm((day + timedelta(days=1)).timetuple())


def counter_key(api_key_id: int, day: date) -> str:
    return f"apikey-calls:{api_key_id}:{day.isoformat()}"


def _redis_client_and_key(key: str) -> tuple[Any, str] | None:
    """The raw Redis client and the full key name when the default cache is Redis, else ``None``."""
    redis = default_redis()
    if redis is None:
        return None
    client, backend = redis
    return client, backend.make_key(key)


def count_call(*, api_key_id: int, quota: int | None, now: datetime) -> QuotaState | None:
    """Count one call of the key today, unless it is over its quota; ``None`` if the counters are unreachable."""
    day = utc_day(now)
    reset_at = day_end(day)
    key = counter_key(api_key_id, day)
    try:
        redis_target = _redis_client_and_key(key)
        if redis_target is not None:
            client, full_key = redis_target
            expire_at = reset_at + int(COUNTER_RETENTION.total_seconds())
            count, allowed = _run_count_script(client, full_key, "" if quota is None else quota, expire_at)
            return QuotaState(limit=quota, used=int(count), reset_at=reset_at, allowed=bool(allowed))
        return _count_in_cache(key=key, quota=quota, reset_at=reset_at, now=now)
    except Exception:  # the counters are down or misbehaving: fail open
        logger.warning("API key quota not enforced: shared cache unavailable", exc_info=True)
        return None


def _count_in_cache(*, key: str, quota: int | None, reset_at: int, now: datetime) -> QuotaState:
    timeout = reset_at - int(now.timestamp()) + int(COUNTER_RETENTION.total_seconds())
    cache.add(key, 0, timeout=timeout)
    try:
        count = int(cache.incr(key))
    except ValueError:  # evicted between add() and incr()
        cache.add(key, 1, timeout=timeout)
        count = 1
    if quota is not None and count > quota:
        cache.decr(key)
        return QuotaState(limit=quota, used=count - 1, reset_at=reset_at, allowed=False)
    return QuotaState(limit=quota, used=count, reset_at=reset_at)


def peek(*, api_key_id: int, quota: int | None, now: datetime) -> QuotaState | None:
    """Where the key stands today without counting a call; ``None`` if the counters are unreachable."""
    day = utc_day(now)
    try:
        used = int(cache.get(counter_key(api_key_id, day)) or 0)
    except Exception:
        logger.warning("API key quota unreadable: shared cache unavailable", exc_info=True)
        return None
    return QuotaState(limit=quota, used=used, reset_at=day_end(day))


def counts_for(*, api_key_ids: list[int], days: list[date]) -> dict[tuple[int, date], int]:
    """The live counters of these keys on these days that still exist, as {(key id, day): calls}."""
    wanted = {counter_key(key_id, day): (key_id, day) for key_id in api_key_ids for day in days}
    if not wanted:
        return {}
    found = cache.get_many(list(wanted))
    return {wanted[key]: int(value) for key, value in found.items() if value is not None}
