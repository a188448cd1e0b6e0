"""A large import into an empty catalog loads its tables bare and gives every index and key back (``catalog.loading``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import loading
from catalog.bulk import books_import
from catalog.ledger import ledger_mismatches
from catalog.loading import FILLED, empty_catalog_load
from catalog.models import Book, BookAuthor, BookSearchEntry, StockMovement
from catalog.search import book_search
from tests.catalog.commands.test_import_staging import csv_line, write
from tests.factories import BookFactory, _isbn13

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes and keys")


def schema() -> tuple[dict[str, tuple[int, str]], set[tuple[str, ...]]]:
    """The filled tables' indexes (name: oid, definition) and constraints (table, name, definition, flags)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, indexrelid::int, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid = ANY(%s::regclass[])",
            [list(FILLED)],
        )
        indexes = {name: (oid, definition) for name, oid, definition in cursor.fetchall()}
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated::text,"
            " condeferrable::text, condeferred::text FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])",
            [list(FILLED)],
        )
        constraints = set(cursor.fetchall())
    return indexes, constraints


def rebuilt(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> set[str]:
    """The indexes that are new objects with the same name and definition."""
    assert {name: definition for name, (_, definition) in before.items()} == {
        name: definition for name, (_, definition) in after.items()
    }
    return {name for name in before if before[name][0] != after[name][0]}


def lines(count: int, start: int = 1) -> list[str]:
    return [
        csv_line(_isbn13(n), title=f"Lighthouse keeper {n}", authors=f"Author {n % 3}", genres="fiction", stock="4")
        for n in range(start, start + count)
    ]


def import_file(path: Path, **options):
    return books_import(open_lines=lambda: path.open("rb"), fmt="csv", **options)


@pytest.fixture
def small_bulk(monkeypatch):
    """A first batch of 4 rows counts as large."""
    monkeypatch.setattr(loading, "MIN_ROWS", 4)


@postgresql_only
def test_an_import_into_an_empty_catalog_rebuilds_every_secondary_index_and_key_as_it_was(tmp_path, small_bulk):
    indexes, constraints = schema()
    result = import_file(write(tmp_path, *lines(10)), batch_size=4)
    assert result.written
    assert result.created == 10
    after_indexes, after_constraints = schema()
    assert after_constraints == constraints  # the same keys, validated, deferred as before
    rebuilt_indexes = rebuilt(indexes, after_indexes)
    assert "books_title_idx" in rebuilt_indexes
    assert "book_search_document_idx" in rebuilt_indexes
    # The primary keys and unique constraints were never dropped.
    assert "books_pkey" not in rebuilt_indexes
    assert "books_isbn_key" not in rebuilt_indexes
    # The catalog is whole: credits, genres, ledger, search.
    assert BookAuthor.objects.count() == 10
    assert Book.genres.through.objects.count() == 10
    assert StockMovement.objects.count() == 10
    assert not ledger_mismatches()
    assert BookSearchEntry.objects.count() == 10
    assert [book.title for book in book_search(Book.objects.all(), "Lighthouse keeper 7")][:1] == [
        "Lighthouse keeper 7"
    ]


@postgresql_only
def test_a_catalog_holding_a_book_or_a_small_first_batch_keeps_its_indexes(tmp_path, small_bulk, monkeypatch):
    indexes, _ = schema()
    BookFactory(isbn=_isbn13(999))
    import_file(write(tmp_path, *lines(10)), batch_size=4)
    assert not rebuilt(indexes, schema()[0])

    Book.objects.all().delete()
    monkeypatch.setattr(loading, "MIN_ROWS", 5)
    import_file(write(tmp_path, *lines(10, start=20), name="more.csv"), batch_size=4)
    assert Book.objects.count() == 10
    assert not rebuilt(indexes, schema()[0])


@postgresql_only
def test_a_rejected_row_rolls_the_drops_back_with_the_rows(tmp_path, small_bulk):
    indexes, constraints = schema()
    bad = csv_line(_isbn13(50), price="-3")
    result = import_file(write(tmp_path, *lines(8), bad), batch_size=4)
    assert result.rejected == 1
    assert not result.written
    assert Book.objects.count() == 0
    after_indexes, after_constraints = schema()
    assert after_constraints == constraints
    assert not rebuilt(indexes, after_indexes)  # the very same indexes: the drops were rolled back


@postgresql_only
def test_a_failure_caught_inside_the_transaction_cannot_commit_the_bare_tables():
    indexes, constraints = schema()
    with transaction.atomic():
        try:
            with empty_catalog_load() as load:
                load.start(loading.MIN_ROWS)
                assert load.bare
                raise ValueError("the import broke")
        except ValueError:
            pass
        assert transaction.get_rollback()
    assert schema() == (indexes, constraints)


@postgresql_only
def test_the_keys_come_back_checked(small_bulk):
    def load_a_credit_of_nothing() -> None:
        with empty_catalog_load() as load:
            load.start(4)
            assert load.bare
            with connection.cursor() as cursor:
                # A credit naming a book and an author that do not exist: no check while the tables load bare.
                cursor.execute(
                    "INSERT INTO book_authors (book_id, author_id, role, position) VALUES (-1, -1, 'author', 0)"
                )

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            load_a_credit_of_nothing()
        # Even caught inside the transaction, the failed re-creation cannot be committed.
        assert transaction.get_rollback()
    assert not BookAuthor.objects.exists()


@postgresql_only
def test_seed_demo_forced_over_a_store_loads_bare_after_deleting_it_in_the_same_transaction(small_bulk):
    call_command("seed_demo", "--books", "30", "--orders", "5", stdout=io.StringIO())
    indexes, constraints = schema()
    # ``--force`` deletes the catalog first, queueing deferred checks on the very tables then loaded bare.
    call_command("seed_demo", "--books", "40", "--orders", "5", "--force", stdout=io.StringIO())
    assert Book.objects.count() == 40
    after_indexes, after_constraints = schema()
    assert after_constraints == constraints
    assert "books_title_idx" in rebuilt(indexes, after_indexes)
    assert not ledger_mismatches()


def _statistics(table: str) -> int:
    """Columns of ``table`` with statistics, as this transaction sees them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = %s", [table])
        return cursor.fetchone()[0]


@postgresql_only
def test_a_bare_load_analyzes_its_tables_after_the_first_batch_at_tenfold_growth_and_before_the_search_entries(
    tmp_path, small_bulk
):
    with CaptureQueriesContext(connection) as captured:
        result = import_file(write(tmp_path, *lines(50)), batch_size=4)
    assert result.created == 50
    statements = [query["sql"] for query in captured.captured_queries]
    analyzed = [i for i, sql in enumerate(statements) if sql.startswith("ANALYZE") and '"books"' in sql]
    batches = [i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "books"')]
    documents = next(i for i, sql in enumerate(statements) if "INSERT INTO book_search" in sql)
    assert len(batches) == 13
    # After the first batch (4 rows), after the tenth (40 rows: tenfold), and before the search entries (50).
    assert [sum(1 for batch in batches if batch < i) for i in analyzed] == [1, 10, 13]
    assert analyzed[-1] < documents
    assert _statistics("books") > 0
    assert _statistics("book_authors") > 0


@postgresql_only
def test_an_import_into_a_catalog_with_books_leaves_the_statistics_to_autovacuum(tmp_path, small_bulk):
    BookFactory(isbn=_isbn13(999))
    with CaptureQueriesContext(connection) as captured:
        import_file(write(tmp_path, *lines(10)), batch_size=4)
    assert not [query for query in captured.captured_queries if query["sql"].startswith('ANALYZE "books"')]
