"""Django's ``RedisCache`` without a new ``redis.Redis`` object per call.

Django's client builds ``redis.Redis(connection_pool=pool)`` for every cache
operation; its constructor fills a table of ~170 response callbacks, which
cost about as much CPU as a catalog read answered from the cache. A client
object is thread-safe and only wraps the pool, so one per pool is kept and
reused. (redis-py's pool notices a fork and opens new connections there.)

Keys are not checked for memcached's limits either: Django's check only warns
that a key would not work on memcached (it walks every character of every key,
about a third of the CPU of reading three keys), and these keys only ever go
to Redis, which takes any bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from redis.exceptions import NoScriptError


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with ``RedisCacheClient`` above."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def validate_key(self, key: str) -> None:
        """No memcached portability warnings: this cache is Redis."""


class RedisScript:
    """A Lua script run by EVALSHA, loaded when Redis does not know it (first call, Redis restarted)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

    def __call__(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(self.source)
            return client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


def default_redis() -> tuple[Any, django_redis.RedisCache] | None:
    """The default cache's raw Redis client (for scripts and hashes) and the backend, or ``None`` without Redis.

    One client per backend instance (Django keeps one per thread), made on first use and kept.
    """
    backend = caches["default"]
    if not isinstance(backend, django_redis.RedisCache):
        return None
    client = getattr(backend, "_raw_client", None)
    if client is None:
        client = backend._raw_client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]
    return client, backend
