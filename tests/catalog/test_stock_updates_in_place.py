"""A stock change leaves the books' indexes alone on PostgreSQL (a HOT update), so sales stay cheap.

Every index of ``books`` would take a new entry on each sale if one of them
covered a column a sale changes (catalog migration 0013).
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from catalog.models import Book
from catalog.services import stock_receive, stock_reserve
from tests.factories import BookFactory, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="heap-only tuple updates are PostgreSQL's"),
]

# The columns a sale, a cancellation or a goods-in writes.
STOCK_COLUMNS = ("stock", "preorder_allowance")


def _in_place_updates() -> int:
    """This transaction's in-place (HOT) updates of ``books`` so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated(%s::regclass)", [Book._meta.db_table])
        return int(cursor.fetchone()[0])


def test_no_index_of_books_covers_a_stock_column() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, a.attname
            FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
            WHERE i.indrelid = %s::regclass AND a.attname = ANY(%s) AND (
                a.attnum = ANY(i.indkey)
                OR pg_get_expr(i.indexprs, i.indrelid) ~ ('\\m' || a.attname || '\\M')
                OR pg_get_expr(i.indpred, i.indrelid) ~ ('\\m' || a.attname || '\\M')
            )
            """,
            [Book._meta.db_table, list(STOCK_COLUMNS)],
        )
        assert cursor.fetchall() == []


def test_a_sale_and_a_goods_in_update_the_book_in_place() -> None:
    book = BookFactory(stock=10)
    staff = UserFactory(is_staff=True)
    before = _in_place_updates()
    with transaction.atomic():
        stock_reserve(quantities={book.pk: 2})
    with transaction.atomic():
        stock_receive(counts={book.pk: 5}, by=staff)
    book.refresh_from_db()
    assert book.stock == 13
    assert _in_place_updates() - before == 2
