"""The tables a placed order writes carry no index that no query needs (PostgreSQL).

Every placement inserts into each of them, so each index there costs every
order an entry: none may be the leading columns of another index of the
same table, nor a ``LIKE 'prefix%'`` copy of a unique index (orders
migration 0012, notifications 0003, catalog 0012).
"""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="index catalogue of PostgreSQL"),
]

WRITTEN_BY_A_PLACEMENT = (
    "orders",
    "order_items",
    "order_status_changes",
    "payments",
    "payment_events",
    "emails",
    "stock_movements",
)


def _indexes() -> list[tuple[str, str, list[int], bool, str]]:
    """(table, index, key columns, has an expression or a predicate, operator classes) of those tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, c.relname, i.indkey::int2[]::int[],
                   i.indexprs IS NOT NULL OR i.indpred IS NOT NULL,
                   pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY(%s)
            """,
            [list(WRITTEN_BY_A_PLACEMENT)],
        )
        return [(table, name, list(keys), partial, definition) for table, name, keys, partial, definition in cursor]


def test_no_like_copies_of_unique_indexes() -> None:
    assert [name for _table, name, _keys, _partial, definition in _indexes() if "pattern_ops" in definition] == []


def test_no_index_is_the_leading_columns_of_another() -> None:
    indexes = [index for index in _indexes() if not index[3]]
    redundant = [
        (name, other)
        for table, name, keys, _partial, definition in indexes
        for other_table, other, other_keys, _other_partial, other_definition in indexes
        if table == other_table
        and name != other
        and len(keys) < len(other_keys)
        and other_keys[: len(keys)] == keys
        and "UNIQUE" not in definition
    ]
    assert redundant == []
