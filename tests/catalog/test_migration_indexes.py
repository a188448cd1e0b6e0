"""Migration 0012: the single-column indexes led by a composite are gone, and lookups by those columns still
use an index and find the same rows (both databases)."""

from __future__ import annotations

import pytest
from django.db import connection

from catalog.models import BookAuthor, StockMovement
from tests.factories import AuthorFactory, BookFactory, SeriesFactory

pytestmark = pytest.mark.django_db

# (table, column, the dropped index, the composite that leads with the column)
DROPPED = [
    ("books", "series_id", "books_series_id_1c816610", "books_series_number_idx"),
    ("book_authors", "author_id", "book_authors_author_id_ea39dbe4", "book_authors_author_role_idx"),
    ("book_authors", "book_id", "book_authors_book_id_a678937d", "book_authors_unique_role"),
    ("stock_movements", "book_id", "stock_movements_book_id_28e22fd6", "stock_movements_book_at_idx"),
]


def _indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {name: info["columns"] for name, info in found.items() if info["index"] or info["unique"]}


@pytest.mark.parametrize(("table", "column", "dropped", "composite"), DROPPED)
def test_the_single_column_index_is_gone_and_a_composite_leads_with_its_column(table, column, dropped, composite):
    indexes = _indexes(table)
    assert dropped not in indexes
    # SQLite names a unique constraint's index itself: find the composite by its columns there.
    leading = [name for name, columns in indexes.items() if columns and columns[0] == column and len(columns) > 1]
    assert leading
    if connection.vendor == "postgresql":
        assert composite in leading


def test_lookups_by_the_columns_find_the_same_rows():
    series = SeriesFactory()
    author, other = AuthorFactory(), AuthorFactory()
    first = BookFactory(series=series, series_number=1, authors=[author], stock=2)
    second = BookFactory(series=series, series_number=2, authors=[author, other], stock=3)
    BookFactory(authors=[other])

    assert list(series.books.order_by("series_number")) == [first, second]
    assert set(BookAuthor.objects.filter(author=author).values_list("book_id", flat=True)) == {first.pk, second.pk}
    assert list(second.author_links.order_by("position").values_list("author_id", flat=True)) == [author.pk, other.pk]
    assert StockMovement.objects.filter(book=second).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize(("table", "column", "dropped", "composite"), DROPPED)
def test_postgresql_plans_a_lookup_by_the_column_on_the_composite(table, column, dropped, composite):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT * FROM {table} WHERE {column} = 1")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert composite in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the LIKE index is PostgreSQL's")
def test_postgresql_finds_an_isbn_by_the_unique_index_alone():
    from django.db import IntegrityError, transaction

    from catalog.models import Book

    book = BookFactory()
    assert "books_isbn_6168c404_like" not in _indexes("books")
    assert Book.objects.get(isbn=book.isbn) == book
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM books WHERE isbn = %s", [book.isbn])
        assert "books_isbn_key" in "\n".join(row[0] for row in cursor.fetchall())
    with pytest.raises(IntegrityError), transaction.atomic():
        BookFactory(isbn=book.isbn)
