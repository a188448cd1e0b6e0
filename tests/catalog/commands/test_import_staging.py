"""The staged, set-based import: admin history, unchanged rows, progress, the end hook and COPY (both databases)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import audit, bulk
from catalog.bulk import books_import
from catalog.importing import COLUMNS, RowError
from catalog.ledger import ledger_mismatches
from catalog.models import Book, StockMovement
from tests.factories import AuthorFactory, BookFactory, GenreFactory, UserFactory, _isbn13

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)


def csv_line(isbn: str, title: str = "A title", authors: str = "Ann Author", **values: str) -> str:
    fields = {"isbn": isbn, "title": title, "authors": authors, "price": "10.00", "language": "en", **values}
    return ",".join(fields.get(column, "") for column in COLUMNS)


def write(tmp_path: Path, *lines: str, name: str = "books.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def run(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_books", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def import_file(path: Path, **options):
    return books_import(open_lines=lambda: path.open("rb"), fmt="csv", **options)


# --- admin history ------------------------------------------------------------------------------


def test_history_names_created_books_and_price_or_stock_changes_under_the_importing_user(tmp_path):
    staff = UserFactory(email="buyer@example.com", is_staff=True)
    author = AuthorFactory(name="Ann Author")
    priced = BookFactory(isbn=_isbn13(1), title="Priced", price=Decimal("5.00"), stock=3, authors=[author])
    stocked = BookFactory(isbn=_isbn13(2), title="Stocked", price=Decimal("10.00"), stock=3, authors=[author])
    both = BookFactory(isbn=_isbn13(3), title="Both", price=Decimal("5.00"), stock=3, authors=[author])
    BookFactory(isbn=_isbn13(4), title="Old title", price=Decimal("10.00"), stock=3, authors=[author])
    path = write(
        tmp_path,
        csv_line(_isbn13(1), "Priced", stock="3"),
        csv_line(_isbn13(2), "Stocked", stock="9"),
        csv_line(_isbn13(3), "Both", stock="0"),
        csv_line(_isbn13(4), "New title", stock="3"),
        csv_line(_isbn13(5), "Brand new", stock="2"),
    )

    out = run(path, "--user", "Buyer@Example.com")

    assert "Imported 5 books (1 created, 4 updated)" in out
    created = Book.objects.get(isbn=_isbn13(5))
    entries = {int(entry.object_id): entry for entry in LogEntry.objects.all()}
    assert set(entries) == {priced.pk, stocked.pk, both.pk, created.pk}  # a title change is not a price or stock one
    assert {entry.user_id for entry in entries.values()} == {staff.pk}
    assert all(entry.content_type.model_class() is Book for entry in entries.values())
    assert (entries[created.pk].action_flag, entries[created.pk].object_repr) == (ADDITION, "Brand new")
    assert json.loads(entries[created.pk].change_message) == [{"added": {}}]
    assert entries[priced.pk].action_flag == CHANGE
    assert json.loads(entries[priced.pk].change_message) == [{"changed": {"fields": ["price"]}}]
    assert json.loads(entries[stocked.pk].change_message) == [{"changed": {"fields": ["stock"]}}]
    assert entries[both.pk].change_message == '[{"changed": {"fields": ["price", "stock"]}}]'
    assert entries[both.pk].get_change_message() == "Changed price and stock."
    assert entries[both.pk].get_admin_url() == f"/admin/catalog/book/{both.pk}/change/"
    # The stock ledger names the same user, and still adds up.
    assert set(StockMovement.objects.filter(kind="import").values_list("by", flat=True)) == {staff.pk}
    assert ledger_mismatches() == []


def test_without_a_user_the_history_names_the_system_account_which_cannot_log_in(tmp_path):
    run(write(tmp_path, csv_line(_isbn13(1))))
    run(write(tmp_path, csv_line(_isbn13(2)), name="more.csv"))

    system = audit.system_user()
    assert system.email == audit.SYSTEM_EMAIL
    assert not system.is_active
    assert not system.has_usable_password()
    assert list(LogEntry.objects.values_list("user", flat=True)) == [system.pk, system.pk]
    assert type(system).objects.filter(email=audit.SYSTEM_EMAIL).count() == 1
    assert StockMovement.objects.count() == 0  # no stock column: no movement


def test_an_unknown_user_is_refused_before_anything_is_read(tmp_path):
    with pytest.raises(CommandError, match="no user"):
        run(write(tmp_path, csv_line(_isbn13(1))), "--user", "nobody@example.com")
    assert not Book.objects.exists()


def test_a_rejected_file_leaves_no_history_no_movements_and_no_books(tmp_path):
    path = write(tmp_path, csv_line(_isbn13(1), stock="4"), csv_line(_isbn13(2), price="-1"))
    with pytest.raises(CommandError):
        run(path)
    assert not Book.objects.exists()
    assert not LogEntry.objects.exists()
    assert not StockMovement.objects.exists()


# --- rows identical to the stored book ----------------------------------------------------------------


def test_a_second_identical_import_writes_nothing_but_still_counts_the_rows_updated(tmp_path):
    GenreFactory(slug="poetry")
    path = write(
        tmp_path,
        csv_line(_isbn13(1), "One", "Ann Author;Bob Writer", genres="poetry;fiction", stock="4"),
        csv_line(_isbn13(2), "Two", stock="0"),
    )
    first = import_file(path)
    stamps = dict(Book.objects.values_list("isbn", "updated_at"))
    history, movements = LogEntry.objects.count(), StockMovement.objects.count()

    again = import_file(path)

    assert (again.created, again.updated, list(again.book_ids)) == (0, 2, [])
    assert list(first.book_ids) == list(Book.objects.order_by("isbn").values_list("pk", flat=True))
    assert dict(Book.objects.values_list("isbn", "updated_at")) == stamps
    assert (LogEntry.objects.count(), StockMovement.objects.count()) == (history, movements)


def test_a_changed_credit_order_or_genre_alone_rewrites_that_book_only(tmp_path):
    GenreFactory(slug="poetry")
    import_file(write(tmp_path, csv_line(_isbn13(1), "One", "Ann;Bob", genres="poetry"), csv_line(_isbn13(2), "Two")))
    one, two = Book.objects.get(isbn=_isbn13(1)), Book.objects.get(isbn=_isbn13(2))

    result = import_file(
        write(tmp_path, csv_line(_isbn13(1), "One", "Bob;Ann", genres="poetry"), csv_line(_isbn13(2), "Two"))
    )
    assert list(result.book_ids) == [one.pk]
    assert [link.author.name for link in one.author_links.order_by("position")] == ["Bob", "Ann"]

    result = import_file(
        write(tmp_path, csv_line(_isbn13(1), "One", "Bob;Ann", genres="fiction"), csv_line(_isbn13(2), "Two"))
    )
    assert list(result.book_ids) == [one.pk]
    assert list(one.genres.values_list("slug", flat=True)) == ["fiction"]
    assert Book.objects.get(pk=two.pk).updated_at == two.updated_at


# --- the entry point for the admin: progress and the end of an import ---------------------------------


def test_progress_is_reported_per_batch_with_the_records_read(tmp_path):
    path = write(tmp_path, *(csv_line(_isbn13(10 + n), f"Book {n}") for n in range(7)))
    seen: list[int] = []

    result = import_file(path, batch_size=3, progress=seen.append)

    assert result.written
    assert result.created == 7
    assert seen == [3, 6, 7, 7]
    dry: list[int] = []
    import_file(path, batch_size=3, progress=dry.append, dry_run=True)
    assert dry[-1] == 7
    assert dry == sorted(dry)


def test_import_finished_runs_after_the_commit_with_the_written_ids(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    calls: list[list[int]] = []
    monkeypatch.setattr(bulk, "import_finished", lambda *, book_ids: calls.append(list(book_ids)))
    path = write(tmp_path, csv_line(_isbn13(1)), csv_line(_isbn13(2)))

    with django_capture_on_commit_callbacks(execute=True):
        result = import_file(path)
        assert calls == []  # not before the commit

    assert calls == [list(result.book_ids)] == [list(Book.objects.order_by("isbn").values_list("pk", flat=True))]
    with django_capture_on_commit_callbacks(execute=True):
        import_file(write(tmp_path, csv_line(_isbn13(1)), csv_line(_isbn13(3), price="-1"), name="bad.csv"))
    assert len(calls) == 1  # a rolled-back import finishes nothing


# --- set-based: statements do not grow with the rows, and PostgreSQL stages with COPY -------------------


def _statements(tmp_path: Path, rows: int, start: int) -> list[str]:
    path = write(tmp_path, *(csv_line(_isbn13(start + n), f"Book {n}", f"Author {n}") for n in range(rows)))
    with CaptureQueriesContext(connection) as queries:
        result = import_file(path, batch_size=1000)
    assert result.created == rows
    return [query["sql"] for query in queries.captured_queries]


def test_a_batch_costs_the_same_statements_whatever_its_size(tmp_path):
    _statements(tmp_path, 1, start=1)  # the system account and content type exist from here on
    small, large = _statements(tmp_path, 3, start=100), _statements(tmp_path, 400, start=1000)
    assert len(small) == len(large)
    assert ledger_mismatches() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_on_postgresql_rows_reach_the_staging_tables_by_copy_not_insert(tmp_path):
    statements = _statements(tmp_path, 50, start=1)
    assert not [sql for sql in statements if "INSERT INTO import_" in sql]
    assert Book.objects.count() == 50


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.django_db(transaction=True)  # SET LOCAL ends with the transaction, so the test needs its own
def test_the_writers_transaction_alone_gets_the_larger_work_mem():
    from django.db import transaction

    from catalog.ledger import StockNote
    from catalog.staging import WORK_MEM, BookStage

    def work_mem() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return cursor.fetchone()[0]

    before = work_mem()
    with transaction.atomic():
        BookStage(note=StockNote(kind=StockMovement.Kind.IMPORT), user_id=None)
        assert work_mem() == WORK_MEM
    assert work_mem() == before != WORK_MEM


def test_upsert_returns_ids_in_row_order_whatever_the_rows_lines():
    from catalog.bulk import books_upsert
    from catalog.importing import BookRow

    existing = BookFactory(isbn=_isbn13(50))
    isbns = [_isbn13(n) for n in (90, 50, 70, 10, 30)]
    rows = [
        BookRow(line=0, present=frozenset(), isbn=isbn, title="T", authors=("A",), price=Decimal(1)) for isbn in isbns
    ]

    result = books_upsert(rows=rows, history=False)

    assert [Book.objects.get(pk=pk).isbn for pk in result.book_ids] == isbns
    assert result.book_ids[1] == existing.pk
    assert (result.created, result.updated) == (4, 1)
    assert not LogEntry.objects.exists()


# --- lists passed as one array parameter ---------------------------------------------------------


def test_names_with_quotes_backslashes_and_braces_reach_the_catalog_unchanged(tmp_path):
    # PostgreSQL gets the batch's names as one array literal (catalog.pgarray): every special character survives.
    names = ['Ann "Nan" Author', "Back\\slash Writer", "{Brace} Poet", "Comma, Novelist", "NULL"]
    existing = AuthorFactory(name=names[1])
    path = tmp_path / "odd.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"isbn": _isbn13(n), "title": f"Odd {n}", "authors": [name], "price": "10.00"})
            for n, name in enumerate(names, start=1)
        )
        + "\n"
    )
    result = books_import(open_lines=lambda: path.open("rb"), fmt="jsonl")
    assert result.written
    assert result.created == len(names)
    for n, name in enumerate(names, start=1):
        book = Book.objects.get(isbn=_isbn13(n))
        assert [author.name for author in book.authors.all()] == [name]
    assert Book.objects.get(isbn=_isbn13(2)).authors.get().pk == existing.pk


# --- read ahead: the file read and checked in a thread, one batch ahead of the writes ----------------------


@pytest.mark.parametrize("read_ahead", [False, True])
def test_read_ahead_keeps_progress_errors_and_all_or_nothing(tmp_path, read_ahead):
    lines = [csv_line(_isbn13(10 + n), f"Book {n}") for n in range(7)]
    path = write(tmp_path, *lines)
    seen: list[int] = []
    result = import_file(path, batch_size=3, progress=seen.append, read_ahead=read_ahead)
    assert result.written
    assert result.created == 7
    assert seen == [3, 6, 7, 7]

    # A bad row in the last batch: reported with its line, and nothing of the file is written.
    bad = write(tmp_path, *[csv_line(_isbn13(30 + n), f"New {n}") for n in range(6)], csv_line("123"), name="bad.csv")
    errors: list[RowError] = []
    result = import_file(bad, batch_size=3, read_ahead=read_ahead, on_error=errors.append)
    assert not result.written
    assert result.rejected == 1
    assert [error.line for error in errors] == [8]
    assert errors[0].reason.startswith("isbn:")
    assert not Book.objects.filter(title__startswith="New").exists()
    assert Book.objects.count() == 7


def test_read_ahead_raises_the_readers_error_and_writes_nothing(tmp_path):
    def broken_lines():
        yield (HEADER + "\n").encode()
        for n in range(5):
            yield (csv_line(_isbn13(50 + n), f"Book {n}") + "\n").encode()
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        books_import(open_lines=broken_lines, fmt="csv", batch_size=2, read_ahead=True)
    assert not Book.objects.exists()


def test_read_ahead_prepares_the_staging_records_in_the_reading_thread(tmp_path, monkeypatch):
    import threading

    from catalog.staging import BookStage

    threads: list[str] = []
    prepare = BookStage.prepare

    def spy(self, rows):
        threads.append(threading.current_thread().name)
        return prepare(self, rows)

    monkeypatch.setattr(BookStage, "prepare", spy)
    lines = [csv_line(_isbn13(60 + n), f"Book {n}", genres="poetry", price="12.50") for n in range(5)]
    result = import_file(write(tmp_path, *lines), batch_size=2, read_ahead=True)

    assert threads == ["import-reader"] * 3
    assert result.created == 5
    assert sorted(Book.objects.values_list("title", "price")) == [(f"Book {n}", Decimal("12.50")) for n in range(5)]
    assert set(Book.objects.values_list("genres__slug", flat=True)) == {"poetry"}


def test_read_ahead_switches_threads_often_while_it_runs_and_restores_the_interval_after(tmp_path, monkeypatch):
    import sys

    from catalog.staging import BookStage

    seen: list[float] = []
    prepare = BookStage.prepare

    def spy(self, rows):
        seen.append(sys.getswitchinterval())
        return prepare(self, rows)

    monkeypatch.setattr(BookStage, "prepare", spy)
    before = sys.getswitchinterval()
    lines = [csv_line(_isbn13(60 + n), f"Book {n}", price="12.50") for n in range(5)]
    result = import_file(write(tmp_path, *lines), batch_size=2, read_ahead=True)

    assert result.created == 5
    assert seen == [pytest.approx(bulk.READ_AHEAD_SWITCH_INTERVAL)] * 3  # the interpreter keeps it in microseconds
    assert sys.getswitchinterval() == before


def test_overlapping_read_aheads_restore_the_interval_once_the_last_ends():
    import sys

    before = sys.getswitchinterval()
    first, second = bulk._short_switch_interval(), bulk._short_switch_interval()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(bulk.READ_AHEAD_SWITCH_INTERVAL)  # the second still reads ahead
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before


# --- odd text through COPY, with the next batch read ahead -------------------------------------------------------------


def test_text_with_tabs_newlines_backslashes_and_a_literal_null_marker_reaches_the_catalog_unchanged(tmp_path):
    # PostgreSQL: the staging records travel through COPY (text format); SQLite: as parameters.
    odd = {
        "title": "Tab\there",
        "subtitle": "\\N",
        "description": "Line one\nline two\r\nback\\slash \\t not a tab",
        "publisher": "",
    }
    path = tmp_path / "odd.jsonl"
    path.write_text(
        json.dumps({"isbn": _isbn13(7), "authors": ["\\N Writer", "Back\\slash"], "price": "10.00", **odd}) + "\n"
    )
    result = books_import(open_lines=lambda: path.open("rb"), fmt="jsonl", read_ahead=True)
    assert result.written
    book = Book.objects.get(isbn=_isbn13(7))
    assert {name: getattr(book, name) for name in odd} == odd
    assert book.published_date is None
    assert book.page_count is None
    assert [author.name for author in book.authors.order_by("book_links__position")] == ["\\N Writer", "Back\\slash"]


# --- a stream of batches: books_upsert_batches (seed_demo) -------------------------------------------------


def _rows(numbers, title="T"):
    from catalog.importing import BookRow

    return [
        BookRow(line=0, present=frozenset(), isbn=_isbn13(n), title=f"{title} {n}", authors=("A",), price=Decimal(1))
        for n in numbers
    ]


def test_upsert_batches_writes_every_batch_in_one_pass_with_ids_in_order_and_search_entries():
    from catalog.bulk import books_upsert_batches
    from catalog.search import book_search

    existing = BookFactory(isbn=_isbn13(105), title="Old")

    result = books_upsert_batches(
        batches=iter([_rows([101, 102], "Zephyr"), [], _rows([103, 104, 105], "Quokka")]), history=False
    )

    assert (result.created, result.updated) == (4, 1)
    assert [Book.objects.get(pk=pk).isbn for pk in result.book_ids] == [_isbn13(n) for n in range(101, 106)]
    assert result.book_ids[4] == existing.pk
    assert not LogEntry.objects.exists()
    # No stock column: no movement of the import's kind.
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.IMPORT).exists()
    assert set(book_search(Book.objects.all(), "quokka").values_list("pk", flat=True)) == set(result.book_ids[2:])


def test_upsert_batches_makes_the_rows_in_another_thread_and_a_bad_batch_writes_nothing():
    import threading

    from catalog.bulk import books_upsert_batches
    from catalog.services import IsbnTaken

    threads: list[str] = []

    def batches():
        threads.append(threading.current_thread().name)
        yield _rows([201, 202])
        yield _rows([203, 203])  # the same ISBN twice in one batch

    with pytest.raises(IsbnTaken):
        books_upsert_batches(batches=batches())
    assert threads
    assert threads[0] != threading.current_thread().name
    assert not Book.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's deferred key checks")
def test_each_batch_runs_the_key_checks_it_queued_and_the_keys_stay_deferred():
    """A merge checks its rows' deferred keys before it returns, not at the commit (the queue stays short)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import IntegrityError, transaction

    from catalog.ledger import StockNote
    from catalog.staging import BookStage

    with transaction.atomic():
        stage = BookStage(note=StockNote(kind=StockMovement.Kind.IMPORT), user_id=987_654)  # no such user
        stage.load(_rows([301]))
        with pytest.raises(IntegrityError):
            stage.merge()  # the admin history's key to the user is checked here
        transaction.set_rollback(True)

    with transaction.atomic():
        stage = BookStage(note=StockNote(kind=StockMovement.Kind.IMPORT), user_id=None)
        stage.load(_rows([302]))
        stage.merge()
        # Still deferred for the rest of the transaction: a bad key raises only when checked.
        LogEntry.objects.create(
            user_id=987_654, content_type=ContentType.objects.get_for_model(Book), object_repr="x", action_flag=ADDITION
        )
        with connection.cursor() as cursor, pytest.raises(IntegrityError):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        transaction.set_rollback(True)
