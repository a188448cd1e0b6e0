"""Usable API keys in the shared cache, so that a key call costs one Redis round trip and no query.

With Redis as the default cache, ``ApiKeyAuthentication`` first sends one Lua
script (``call``) that, atomically and in one round trip:

1. reads the key's record by its public prefix: its id, the SHA-256 digest of
   the whole key, expiry, scopes, daily quota and the key and owner rows;
2. checks the presented key's digest and the expiry (else: a miss);
3. checks the call's scope (else: the quota state without counting, for 403);
4. counts the call against the day's quota (``accounts.quotas``: refused and
   not counted when over it);
5. sets a marker that lets one call per key and minute write ``last_used_at``.

A miss (no record, wrong secret, expired) takes the database path
(``services.api_key_authenticate``) as before, and a usable key is then stored
here for ``RECORD_TTL`` with "set if absent".

**Revocation stays immediate.** Records exist only for usable keys. Every
write that can make a key unusable or change what it may do forgets its
record: the revoke services, any save or delete of an ``ApiKey``, any save or
delete of its owner (deactivation, demotion, erasure) — see ``accounts.signals``.
Forgetting does not delete the record but replaces it with a tombstone for
``TOMBSTONE_TTL``, once when the change is made and again after its
transaction commits: a request that read the key from the database before the
change cannot store its stale copy afterwards ("set if absent" finds the
tombstone), and no request in flight outlives the tombstone. Since every
server reads the same Redis, the next call on any server sees the change.

If Redis cannot be reached, calls take the database path. If forgetting fails
(Redis unreachable at that moment) a stale record lives at most ``RECORD_TTL``.

Without Redis (SQLite development, the file cache) nothing is cached here.
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from accounts import quotas
from accounts.models import ApiKey, User
from bookstore.cache import RedisScript, default_redis

logger = logging.getLogger(__name__)

#: How long a usable key's record is kept (bounds staleness only if forgetting it failed).
RECORD_TTL = 60
#: How long a forgotten key's tombstone blocks re-caching (longer than any request runs).
TOMBSTONE_TTL = 60
#: ``last_used_at`` is written by the first call of a key in each such window, on any server.
LAST_USED_SECONDS = 60

_KEY_FIELDS = tuple(field.attname for field in ApiKey._meta.concrete_fields)
# The password hash is not copied into the cache: the owner's password loads on access (deferred).
_USER_FIELDS = tuple(field.attname for field in User._meta.concrete_fields if field.attname != "password")
#: Records of another set of columns (a deploy with a migration) are never read.
SCHEMA = hashlib.sha256(repr((_KEY_FIELDS, _USER_FIELDS)).encode()).hexdigest()[:8]

#: The scope argument of a call that needs every scope (the account's own routes).
EVERY_SCOPE = "*"

# KEYS[1] the record. ARGV: [1] digest of the presented key, [2] now (Unix time), [3] scope needed ('*': every
# scope), [4] UTC day, [5] the day counter's expiry (Unix time), [6] counter name up to the key id,
# [7] last-used marker name up to the key id, [8] last-used window in seconds.
# Returns {0} on a miss; else {1 in scope / 2 not, data, count, 1 allowed / 0 over quota, 1 write last_used}.
# The counter and marker names are built here from the key id, so this needs one Redis server (not a cluster).
_CALL_SCRIPT = """
local r = redis.call('HMGET', KEYS[1], 'id', 'digest', 'quota', 'exp', 'scopes', 'every', 'data')
local id = r[1]
if not id or r[2] ~= ARGV[1] then return {0} end
if r[4] ~= '' and tonumber(r[4]) <= tonumber(ARGV[2]) then return {0} end
local used = 0
if redis.call('SET', ARGV[7] .. id, '1', 'NX', 'EX', ARGV[8]) then used = 1 end
local counter = ARGV[6] .. id .. ':' .. ARGV[4]
local in_scope
if ARGV[3] == '*' then
  in_scope = r[6] == '1'
else
  in_scope = string.find(',' .. r[5] .. ',', ',' .. ARGV[3] .. ',', 1, true) ~= nil
end
if not in_scope then
  return {2, r[7], tonumber(redis.call('GET', counter) or '0'), 1, used}
end
local count = redis.call('INCR', counter)
if count == 1 then redis.call('EXPIREAT', counter, ARGV[5]) end
if r[3] ~= '' and count > tonumber(r[3]) then
  redis.call('DECR', counter)
  return {1, r[7], count - 1, 0, used}
end
return {1, r[7], count, 1, used}
"""

# KEYS[1] the record, KEYS[2] the last-used marker; ARGV: id, digest, quota, expiry, scopes, every scope, data,
# ttl, the marker's ttl (0: none). Stores the record only if absent.
_STORE_SCRIPT = """
if tonumber(ARGV[9]) > 0 then redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[9]) end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'digest', ARGV[2], 'quota', ARGV[3], 'exp', ARGV[4],
  'scopes', ARGV[5], 'every', ARGV[6], 'data', ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[8])
return 1
"""

# KEYS: the records to forget; ARGV[1] the tombstone's ttl.
_FORGET_SCRIPT = """
for _, key in ipairs(KEYS) do
  redis.call('DEL', key)
  redis.call('HSET', key, 'dead', '1')
  redis.call('EXPIRE', key, ARGV[1])
end
return #KEYS
"""


_call = RedisScript(_CALL_SCRIPT)
_store = RedisScript(_STORE_SCRIPT)
_forget = RedisScript(_FORGET_SCRIPT)


@dataclass(frozen=True)
class CachedCall:
    """What one cached key call found: the key (its owner loaded), whether it is in scope, its quota state."""

    api_key: ApiKey
    in_scope: bool
    quota: quotas.QuotaState
    write_last_used: bool


def _redis() -> tuple[Any, RedisCache] | None:
    """The raw Redis client and the backend when the default cache is Redis with plain key names, else ``None``."""
    redis = default_redis()
    if redis is None:
        return None
    backend = redis[1]
    # The script builds counter names itself: only with Django's own "<prefix>:<version>:<key>" naming.
    probe = quotas.counter_key(1, datetime(2000, 1, 1).date())
    if backend.make_key(probe) != backend.make_key("apikey-calls:") + "1:2000-01-01":
        return None
    return redis


def enabled() -> bool:
    return _redis() is not None


def _record_key(backend: RedisCache, prefix: str) -> str:
    return backend.make_key(f"apikey-auth:{SCHEMA}:{prefix}")


def call(*, prefix: str, digest: str, needed: str | None, now: datetime) -> CachedCall | None:
    """Check a key (``digest`` of what was presented) against its cached record and count the call; ``None``: a miss.

    One round trip.

    ``None`` too when Redis is not the cache or cannot be reached: the caller
    takes the database path, which counts the call itself.
    """
    target = _redis()
    if target is None:
        return None
    client, backend = target
    day = quotas.utc_day(now)
    reset_at = quotas.day_end(day)
    try:
        found = _call(
            client,
            [_record_key(backend, prefix)],
            [
                digest,
                repr(now.timestamp()),
                EVERY_SCOPE if needed is None else needed,
                day.isoformat(),
                reset_at + int(quotas.COUNTER_RETENTION.total_seconds()),
                backend.make_key("apikey-calls:"),
                backend.make_key("apikey-used:"),
                LAST_USED_SECONDS,
            ],
        )
    except Exception:
        logger.warning("API key cache unavailable: reading the key from the database", exc_info=True)
        return None
    if not found or int(found[0]) == 0:
        return None
    outcome, data, count, allowed, used = found
    try:
        api_key = _load(data)
    except Exception:  # a record this code cannot read: dropped, and the database answers
        logger.warning("API key cache record unreadable: reading the key from the database", exc_info=True)
        _forget_now([prefix])  # so that at most this one call is counted twice
        return None
    return CachedCall(
        api_key=api_key,
        in_scope=int(outcome) == 1,
        quota=quotas.QuotaState(
            limit=api_key.daily_quota, used=int(count), reset_at=reset_at, allowed=bool(int(allowed))
        ),
        write_last_used=bool(int(used)),
    )


def store(*, api_key: ApiKey, now: datetime) -> None:
    """Keep a usable key (its owner loaded) for later calls, unless a record or tombstone is there.

    The key was just read from the database, where ``last_used_at`` is then at
    most a minute old: cached calls write it again when that minute is over.
    """
    target = _redis()
    if target is None:
        return
    client, backend = target
    marker_ttl = 0
    if api_key.last_used_at is not None:
        marker_ttl = math.ceil(LAST_USED_SECONDS - (now - api_key.last_used_at).total_seconds())
    owner = api_key.owner
    data = pickle.dumps(
        (
            tuple(getattr(api_key, name) for name in _KEY_FIELDS),
            tuple(getattr(owner, name) for name in _USER_FIELDS),
        ),
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    try:
        _store(
            client,
            [_record_key(backend, api_key.prefix), backend.make_key(f"apikey-used:{api_key.pk}")],
            [
                api_key.pk,
                api_key.digest,
                "" if api_key.daily_quota is None else api_key.daily_quota,
                "" if api_key.expires_at is None else repr(api_key.expires_at.timestamp()),
                ",".join(api_key.scopes or ()),
                "1" if api_key.has_every_scope else "0",
                data,
                RECORD_TTL,
                max(0, marker_ttl),
            ],
        )
    except Exception:
        logger.warning("API key cache unavailable: key not cached", exc_info=True)


def _load(data: bytes) -> ApiKey:
    key_values, user_values = pickle.loads(data)  # noqa: S301 - written by store() above, like Django's own cache
    api_key = ApiKey.from_db(DEFAULT_DB_ALIAS, list(_KEY_FIELDS), list(key_values))
    owner = User.from_db(DEFAULT_DB_ALIAS, list(_USER_FIELDS), list(user_values))
    api_key.owner = owner
    return api_key


def forget(*, prefixes: Iterable[str]) -> None:
    """Make the next call of these keys, on any server, read them from the database.

    Call it when the change is made; inside a transaction it runs again after
    the commit, so that no request stores what it read before the commit.
    """
    if _redis() is None:
        return
    wanted = sorted(set(prefixes))
    if not wanted:
        return
    _forget_now(wanted)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _forget_now(wanted))


def _forget_now(prefixes: list[str]) -> None:
    target = _redis()
    if target is None:
        return
    client, backend = target
    try:
        _forget(client, [_record_key(backend, prefix) for prefix in prefixes], [TOMBSTONE_TTL])
    except Exception:
        logger.error(
            "API key cache unavailable: changed keys may be served from the cache for up to %s s",
            RECORD_TTL,
            exc_info=True,
        )


def forget_owner(*, user_id: int) -> None:
    """``forget`` every key of this user (deactivated, demoted, erased, deleted)."""
    forget(prefixes=ApiKey.objects.filter(owner_id=user_id).values_list("prefix", flat=True))
