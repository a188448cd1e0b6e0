"""Several rows of different tables inserted by one statement (PostgreSQL).

``rows_insert`` compiles each row's ``INSERT`` with Django's own compiler, so
every field is prepared as ``Model.save`` prepares it (``auto_now_add``
stamps, defaults, JSON), and joins them with data-modifying ``WITH`` parts:
one round trip instead of one per row; consecutive rows of one model are one
part with several ``VALUES`` rows. Every row must carry its primary key
already (``ids_reserve`` takes them from the tables' sequences), since no part
can read another's ``RETURNING``. Foreign keys between the rows are fine:
Django's constraints on PostgreSQL are checked at the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import Model
from django.db.models.sql import InsertQuery


def ids_reserve(tables: Sequence[str], *, using: str = "default") -> list[int]:
    """The next id of each table's ``id`` sequence, taken in one statement (PostgreSQL)."""
    return [ids[0] for ids in id_runs_reserve([(table, 1) for table in tables], using=using)]


def id_runs_reserve(runs: Sequence[tuple[str, int]], *, using: str = "default") -> list[list[int]]:
    """``count`` new ids from each ``(table, count)``'s ``id`` sequence, all in one statement (PostgreSQL)."""
    parts = ", ".join(
        "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s))" for _ in runs
    )
    params: list[Any] = [value for table, count in runs for value in (table, count)]
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {parts}", params)
        return [list(ids) for ids in cursor.fetchone()]


def _insert_sql(rows: Sequence[Model], using: str) -> tuple[str, tuple[Any, ...]]:
    """One ``INSERT`` of ``rows`` (all of one model), as ``bulk_create`` compiles it."""
    model = type(rows[0])
    query = InsertQuery(model)
    query.insert_values([field for field in model._meta.local_concrete_fields if not field.generated], list(rows))
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    return sql, tuple(params)


def _runs(rows: Sequence[Model]) -> list[list[Model]]:
    """``rows`` cut into runs of consecutive rows of the same model, in order."""
    runs: list[list[Model]] = []
    for row in rows:
        if runs and type(runs[-1][0]) is type(row):
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def rows_insert(rows: Sequence[Model], *, using: str = "default") -> None:
    """Insert ``rows`` (each with its primary key set) in one statement, in this order; they count as saved."""
    if any(row.pk is None for row in rows):
        raise ValueError("every row needs its primary key: ids_reserve() takes them first")
    statements = [_insert_sql(run, using) for run in _runs(rows)]
    *parts, (last_sql, last_params) = statements
    sql = "".join(
        f"{'WITH' if index == 0 else ','} inserted_{index} AS ({part_sql}) "
        for index, (part_sql, _) in enumerate(parts)
    )
    params: list[Any] = [param for _, part_params in parts for param in part_params]
    with connections[using].cursor() as cursor:
        cursor.execute(sql + last_sql, [*params, *last_params])
    for row in rows:
        row._state.adding = False
        row._state.db = using
