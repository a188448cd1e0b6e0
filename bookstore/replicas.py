"""Read replicas: catalog reads of read-only requests go to a streaming replica, everything else to the primary.

``DATABASE_REPLICA_URLS`` (README, "Read replicas") adds one database alias per
replica (``replica1``, ``replica2``, ...). ``ReplicaRouter`` sends a read of a
catalog model to one of them only while all of these hold:

- the read happens inside a request that ``ReplicaRoutingMiddleware`` let
  through as read-only: a safe method (GET, HEAD, OPTIONS), outside the admin,
  from a caller not pinned to the primary;
- nothing in this request has written yet (any ``db_for_write`` pins the rest
  of the request, and so do ``select_for_update`` querysets, which Django
  routes as writes);
- the primary's connection is not inside a transaction.

Read-your-writes across requests: a request with an unsafe method, or one
that wrote, pins its caller to the primary for ``DATABASE_REPLICA_PIN_SECONDS``
(longer than the replication lag the replicas are monitored for): a cookie
for browsers and a cache marker keyed by a hash of the ``Authorization``
header for API clients, which often keep no cookies.

A replica that refuses or times out (``DATABASE_REPLICA_CONNECT_TIMEOUT``) is
left alone for ``DATABASE_REPLICA_RETRY_SECONDS`` and its reads go to the next
replica or the primary. A replica that fails in the middle of a read-only
request makes the middleware run that request again on the primary, so the
caller sees no 5xx. Background jobs and management commands always use the primary.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("bookstore.replicas")

#: Apps whose models are read from replicas: the catalog every visitor browses.
REPLICA_READ_APPS = frozenset({"catalog"})
PIN_COOKIE = "db_primary_until"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PIN_KEY_PREFIX = "replica-pin:"


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


@dataclass
class RoutingState:
    """What the router knows about the request being served (one per request, in a context variable)."""

    pinned: bool = False  # every read goes to the primary
    wrote: bool = False
    alias: str | None = None  # the replica this request reads from, once chosen
    failed: set[str] = field(default_factory=set)  # replicas that failed during this request


_state: ContextVar[RoutingState | None] = ContextVar("bookstore_replica_routing", default=None)


class _Health:
    """Per process: which replicas failed recently, and the round-robin position."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self._next = 0

    def mark_down(self, alias: str) -> None:
        with self._lock:
            self._down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS

    def is_down(self, alias: str) -> bool:
        until = self._down_until.get(alias)
        return until is not None and until > time.monotonic()

    def rotation(self, aliases: list[str]) -> list[str]:
        """The replicas in the order to try them: round-robin over requests."""
        with self._lock:
            start = self._next % len(aliases)
            self._next += 1
        return aliases[start:] + aliases[:start]

    def reset(self) -> None:
        with self._lock:
            self._down_until.clear()
            self._next = 0


health = _Health()


def _usable(alias: str) -> bool:
    """Connect to (or health-check the kept connection of) a replica; False when it does not answer."""
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except (OperationalError, InterfaceError) as exc:
        logger.warning("replica unavailable, reading from the primary", extra={"alias": alias, "error": str(exc)})
        health.mark_down(alias)
        with contextlib.suppress(Exception):
            connection.close()
        return False
    return True


def _choose_replica(state: RoutingState) -> str | None:
    aliases = replica_aliases()
    if not aliases:
        return None
    for alias in health.rotation(aliases):
        if alias in state.failed or health.is_down(alias):
            continue
        if _usable(alias):
            return alias
        state.failed.add(alias)
    return None


class ReplicaRouter:
    """Catalog reads of read-only requests to a replica; every other query to the primary (``None``)."""

    # With replicas configured the primary is named explicitly: left to Django, a query about an
    # object read from a replica (saving it, following its relations) would go to that replica.

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if not replica_aliases():
            return None
        state = _state.get()
        if state is None or state.pinned or model._meta.app_label not in REPLICA_READ_APPS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        if state.alias is None or state.alias in state.failed:
            state.alias = _choose_replica(state)
            if state.alias is None:
                state.pinned = True  # no replica answers: the rest of the request reads the primary
                return DEFAULT_DB_ALIAS
        return state.alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        state = _state.get()
        if state is not None:
            state.pinned = True
            state.wrote = True
        return DEFAULT_DB_ALIAS if replica_aliases() else None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Replicas hold the primary's rows: an object read from one may be related to one from the primary.
        return True if replica_aliases() else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db in replica_aliases() else None


def _caller_key(request: HttpRequest) -> str | None:
    """A cache key for the caller's credentials (never the credentials themselves), or None if anonymous."""
    credentials = request.headers.get("Authorization", "")
    if not credentials:
        return None
    return _PIN_KEY_PREFIX + hashlib.sha256(credentials.encode("utf-8", "replace")).hexdigest()[:40]


def _pinned_by_earlier_write(request: HttpRequest) -> bool:
    try:
        if float(request.COOKIES.get(PIN_COOKIE, "0")) > time.time():
            return True
    except ValueError:
        pass
    key = _caller_key(request)
    if key is None:
        return False
    try:
        return cache.get(key) is not None
    except Exception:  # the cache is down: the primary is always right
        return True


def _pin_caller(request: HttpRequest, response: HttpResponse) -> None:
    seconds = settings.DATABASE_REPLICA_PIN_SECONDS
    until = time.time() + seconds
    response.set_cookie(
        PIN_COOKIE,
        f"{until:.0f}",
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    key = _caller_key(request)
    if key is not None:
        try:
            cache.set(key, 1, timeout=seconds)
        except Exception:  # the cookie still pins browsers; an API client reads a replica a few seconds early
            logger.warning("could not record the caller's write in the cache")


class ReplicaRoutingMiddleware:
    """Decide per request whether catalog reads may use a replica; pin writers; retry on a failed replica.

    Not installed (``MiddlewareNotUsed``) without ``DATABASE_REPLICA_URLS``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not replica_aliases():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        safe = request.method in SAFE_METHODS
        read_only = safe and not request.path.startswith("/admin/")
        state = RoutingState(pinned=not read_only or _pinned_by_earlier_write(request))
        response = self._serve(request, state)
        if state.failed and read_only and not state.wrote and response.status_code >= 500:
            # A replica died under this read-only request: answer it from the primary instead.
            logger.warning("replica failed during a request; serving it from the primary")
            state = RoutingState(pinned=True)
            response = self._serve(request, state)
        if not safe or state.wrote:
            _pin_caller(request, response)
        return response

    def _serve(self, request: HttpRequest, state: RoutingState) -> HttpResponse:
        for alias in replica_aliases():
            _watch_failures(alias)
        token = _state.set(state)
        try:
            return self.get_response(request)
        finally:
            _state.reset(token)


class _FailureWatch:
    """An execute wrapper on a replica's connection: a lost replica is recorded before the error goes on."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        try:
            return execute(sql, params, many, context)
        except (OperationalError, InterfaceError):
            health.mark_down(self.alias)
            state = _state.get()
            if state is not None:
                state.failed.add(self.alias)
            raise


def _watch_failures(alias: str) -> None:
    """Install the failure watch on this thread's connection to ``alias``, once.

    Installed for good rather than per request: ``connection.execute_wrapper()``
    pops the last wrapper on exit, which would be another one (the metrics'
    query counter) whenever the connection was opened inside the block.
    """
    wrappers = connections[alias].execute_wrappers
    if not any(isinstance(wrapper, _FailureWatch) for wrapper in wrappers):
        wrappers.append(_FailureWatch(alias))


def current_state() -> RoutingState | None:
    """The routing state of the request being served (None outside one, or without replicas)."""
    return _state.get()
