"""Several rows of different tables inserted by one statement (PostgreSQL).

``rows_insert`` joins one ``INSERT`` per run of consecutive rows of one model
with data-modifying ``WITH`` parts: one round trip instead of one per row.
Every row must carry its primary key already (``id_runs_reserve`` takes them
from the tables' sequences, or ``id_runs_sql`` inside a statement of the
caller's), since no part can read another's ``RETURNING``.
Foreign keys between the rows are fine: Django's constraints on PostgreSQL
are checked at the commit.

Each field is prepared as ``Model.save`` prepares it (``pre_save`` with
``add=True``, so ``auto_now_add`` stamps and defaults are set on the objects;
then ``get_db_prep_save``). A run's prepared rows then travel as ONE
parameter, a JSON array of objects keyed by column, which
``json_populate_recordset`` turns back into rows of the table's own type:
``INSERT INTO t (c1, ...) SELECT c1, ... FROM json_populate_recordset(NULL::t, %s)``.
PostgreSQL converts each value with the column type's input function (and
keeps a JSON field's document as written), so the stored row is the one the
compiler's ``VALUES`` would store. Why: the statement's text then depends only
on which models come in which order and it has a handful of parameters, so
psycopg's client-side cursor reuses its parsed form (it caches queries of at
most 50 parameters and 4 KiB) instead of splitting a 60-parameter statement
and quoting each value on every order, and Django's insert compiler does not
run at all.

Only values whose JSON form PostgreSQL reads back exactly go that way
(strings, integers, booleans, decimals, dates, times, datetimes, UUIDs,
JSON documents, ``None``), and only for fields whose column is a plain
scalar or a JSON field (``_JSON_READY``). A run with anything else (an
expression, a float, bytes, a field with its own placeholder, an unknown
field type) is compiled by Django's ``InsertQuery`` as ``bulk_create`` would
compile it, as one ``VALUES`` part of the same statement (``pre_save`` runs
again there: an ``auto_now_add`` stamp is taken anew, the object and the row
still agree).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from django.db import connections
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery
from psycopg.types.json import Jsonb

from bookstore.prepared import prepared_cursor


def id_runs_sql(runs: Sequence[tuple[str, int]]) -> tuple[str, list[Any]]:
    """A ``SELECT`` of one row: ``count`` new ids from each ``(table, count)``'s ``id`` sequence, an array each.

    Its columns are ``ids_0``, ``ids_1``, ...; a caller may read it within a statement of its own (PostgreSQL).
    """
    parts = ", ".join(
        f"ARRAY(SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)) AS ids_{index}"  # noqa: S608
        for index in range(len(runs))
    )
    return f"SELECT {parts}", [value for table, count in runs for value in (table, count)]


def id_runs_reserve(runs: Sequence[tuple[str, int]], *, using: str = "default") -> list[list[int]]:
    """``count`` new ids from each ``(table, count)``'s ``id`` sequence, all in one statement (PostgreSQL)."""
    sql, params = id_runs_sql(runs)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [list(ids) for ids in cursor.fetchone()]


def _insert_fields(model: type[Model]) -> list[Field[Any, Any]]:
    """The columns an insert of ``model`` writes, as ``bulk_create`` chooses them."""
    return [field for field in model._meta.local_concrete_fields if not field.generated]


def _insert_sql(rows: Sequence[Model], using: str) -> tuple[str, tuple[Any, ...]]:
    """One ``INSERT`` of ``rows`` (all of one model), as ``bulk_create`` compiles it."""
    query = InsertQuery(type(rows[0]))
    query.insert_values(_insert_fields(type(rows[0])), list(rows))
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    return sql, tuple(params)


# Field types whose column takes a JSON scalar through its input function as it takes the
# compiler's parameter, or (JSONField) a JSON document as is. Foreign keys go by their target.
_JSON_READY = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "BigIntegerField",
        "IntegerField",
        "SmallIntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "BooleanField",
        "CharField",
        "TextField",
        "EmailField",
        "SlugField",
        "URLField",
        "DecimalField",
        "DateField",
        "DateTimeField",
        "TimeField",
        "UUIDField",
        "JSONField",
    }
)

# Prepared values with an exact JSON form: orjson writes str and int (bool, TextChoices members:
# their value) and UUIDs itself, ``_json_default`` the rest. Not floats: orjson writes NaN as null.
_JSON_SCALARS = (str, int, Decimal, datetime.date, datetime.time, uuid.UUID, Jsonb)


class _NotJsonReady(Exception):
    """A value of the run has no exact JSON form: the run is compiled by Django."""


@cache
def _json_ready(model: type[Model]) -> bool:
    """Whether every column an insert of ``model`` writes can take its value from JSON (see ``_JSON_READY``)."""
    return all(
        (field.target_field if field.is_relation else field).get_internal_type() in _JSON_READY  # type: ignore[attr-defined]
        and not hasattr(field, "get_placeholder")
        for field in _insert_fields(model)
    )


def _json_default(value: Any) -> Any:
    """orjson's hook for what it does not write itself (datetimes are passed through to here)."""
    if isinstance(value, Jsonb):
        # The document as the compiler's parameter would carry it (the field's encoder).
        return orjson.Fragment((value.dumps or json.dumps)(value.obj))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        # ISO 8601 with the offset of an aware value: the same instant for timestamptz.
        return value.isoformat()
    raise TypeError


def _json_rows(rows: Sequence[Model], fields: Sequence[Field[Any, Any]], using: str) -> str:
    """``rows`` prepared as the insert compiler prepares them, as one JSON array of column objects."""
    connection = connections[using]
    prepared = []
    for row in rows:
        values = {}
        for field in fields:
            value = field.pre_save(row, add=True)
            if hasattr(value, "resolve_expression"):
                # An expression (or a database default) is compiled into the SQL: Django's compiler does it.
                raise _NotJsonReady
            value = field.get_db_prep_save(value, connection=connection)
            if value is not None and not isinstance(value, _JSON_SCALARS):
                raise _NotJsonReady
            values[field.column] = value
        prepared.append(values)
    try:
        return orjson.dumps(prepared, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except orjson.JSONEncodeError as error:
        raise _NotJsonReady from error


@cache
def _recordset_sql(model: type[Model], using: str) -> str:
    """``model``'s insert from one JSON parameter (the statement's text is the same for every call)."""
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(field.column) for field in _insert_fields(model))
    table = quote(model._meta.db_table)
    # Names from the model's metadata, quoted; the rows are the parameter.
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s)"  # noqa: S608


def _run_sql(rows: Sequence[Model], using: str) -> tuple[str, tuple[Any, ...], bool]:
    """One ``INSERT`` of ``rows`` (all of one model): from one JSON parameter where it is exact.

    The flag says whether the text is the model's one (the JSON form), whatever the number of rows.
    """
    model = type(rows[0])
    fields = _insert_fields(model)
    if not _json_ready(model):
        return (*_insert_sql(rows, using), False)
    try:
        return _recordset_sql(model, using), (_json_rows(rows, fields, using),), True
    except _NotJsonReady:
        return (*_insert_sql(rows, using), False)


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
        raise ValueError("every row needs its primary key: id_runs_reserve() takes them first")
    statements = [_run_sql(run, using) for run in _runs(rows)]
    *parts, (last_sql, last_params, _) = statements
    sql = "".join(
        f"{'WITH' if index == 0 else ','} inserted_{index} AS ({part_sql}) "
        for index, (part_sql, _, _) in enumerate(parts)
    )
    params: list[Any] = [param for _, part_params, _ in parts for param in part_params]
    # A text that comes back for the same models is prepared (bookstore/prepared.py); one with a
    # placeholder per value differs with the number of rows.
    reusable = all(fixed for _, _, fixed in statements)
    with prepared_cursor(using) if reusable else connections[using].cursor() as cursor:
        cursor.execute(sql + last_sql, [*params, *last_params])
    for row in rows:
        row._state.adding = False
        row._state.db = using
