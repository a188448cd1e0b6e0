"""A cursor for the statements a hot path sends on every call: prepared once per connection (PostgreSQL).

Django binds values on the client with psycopg 3, so PostgreSQL parses and
plans each statement on every call. The statements of an order (read the
books and reserve the ids, insert the order's rows, take the stock) take
longer to plan than to run: about 0.8 ms of the server's CPU per order went to
planning them. ``prepared_cursor`` gives a Django cursor (the same wrappers,
query metrics and error translation as ``connection.cursor()``) whose
statements are sent with their values bound on the server and prepared on
first use: psycopg keeps them per connection by text and parameter types,
drops the oldest beyond ``prepared_max`` (100), and deallocates them all after
a rollback. The connection plans a prepared statement once
(``plan_cache_mode=force_generic_plan``, bookstore/settings.py): the plans are
primary-key lookups and inserts, for which a plan per call gains nothing.

Behind a transaction-pooling PgBouncer (``DATABASE_POOLER``) a statement
prepared on one server connection could be called on another: there the
connection prepares nothing (``prepare_threshold=None``) and the statements go
unprepared, still bound on the server. On SQLite it is the usual cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


@contextmanager
def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> Iterator[CursorWrapper]:
    """A cursor of ``using`` whose statements are prepared on first use (PostgreSQL without a pooler)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    # As ``connection.cursor()`` does, with a server-binding cursor in place of the client-binding one.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _preparing_cursor_class()(connection.connection)
        _timezone_follow(connection, raw)
        connection.validate_thread_sharing()
    cursor = _LoggedCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        yield cursor


class _LoggedCursor(CursorDebugWrapper):
    """Logs the statement with its values, as Django logs a client-binding cursor's.

    psycopg keeps no text of a prepared statement's execution to read back, so
    the text is composed here, as Django does for server-binding connections.
    """

    def execute(self, sql: Any, params: Any = None) -> Any:
        logged = sql if params is None else self.db.ops.compose_sql(sql, params)
        with self.debug_sql(logged, params):
            return CursorWrapper.execute(self, sql, params)


@cache
def _preparing_cursor_class() -> type:
    """Django's server-binding cursor, asking psycopg to prepare every statement it executes."""
    # Imported here: the PostgreSQL backend needs psycopg, which a SQLite-only process never loads.
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True, **kwargs)

    return PreparingCursor


def _timezone_follow(connection: Any, cursor: Any) -> None:
    """The connection's time zone for the cursor's timestamps, as Django's ``create_cursor`` gives its cursors."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID  # type: ignore[attr-defined]
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    if connection.timezone != connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
        register_tzloader(connection.timezone, cursor)
