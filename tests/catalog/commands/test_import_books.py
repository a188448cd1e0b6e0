"""manage.py import_books: upsert by ISBN, all or nothing, every bad line reported."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalog.importing import COLUMNS
from catalog.models import Author, Book, Genre
from tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)
DOCS = Path(settings.BASE_DIR) / "docs"


def csv_line(isbn: str, title: str = "A title", authors: str = "Ann Author", **values: str) -> str:
    fields = {"isbn": isbn, "title": title, "authors": authors, "price": "10.00", "language": "en", **values}
    return ",".join(fields.get(column, "") for column in COLUMNS)


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_books", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_rejected(path: Path, *args: str) -> tuple[str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_books", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(excinfo.value)


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    """Valid rows on lines 2, 5, 10 and 12; every other line is bad in its own way."""
    lines = [
        HEADER.encode(),
        csv_line("9780441013593", "Dune", "Frank Herbert", genres="science-fiction", stock="5").encode(),  # 2
        csv_line("9780441013594", "Bad check digit").encode(),  # 3
        csv_line("9780306406157", "Negative price", price="-1.00").encode(),  # 4
        csv_line("0-14-143951-3", "Valid ISBN-10", "Jane Austen", language="fr").encode(),  # 5 (valid, see below)
        csv_line("9782070408504", "").encode(),  # 6 missing title
        csv_line("9780061120084", "Unknown language", language="xx").encode(),  # 7
        b'9780553293357,"Broken"quoting,,,Isaac Asimov,,,,en,,5.00,,',  # 8
        "9780547928227,Caf\u00e9 in Latin-1,,,Anon,,,,en,,5.00,,".encode("latin-1"),  # 9 not UTF-8
        csv_line("9788420412146", "Second valid", "Ann Author;Bob Writer", genres="fiction;poetry").encode(),  # 10
        csv_line("9780441013593", "Duplicate of line 2").encode(),  # 11
        csv_line("9780141187761", "Third valid", price="0").encode(),  # 12
        csv_line("9780060853983", "No author", authors="").encode(),  # 13
    ]
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


BAD_LINES = {
    3: "isbn",
    4: "price: must be 0 or more",
    6: "title: required",
    7: "language: 'xx' is not an ISO 639-1 code",
    8: "malformed CSV quoting",
    9: "not valid UTF-8",
    11: "appears on an earlier line",
    13: "authors: at least one author",
}
VALID_ISBNS = {"9780441013593", "9780141439518", "9788420412146", "9780141187761"}


def reported_lines(err: str) -> dict[int, str]:
    return {
        int(text.split(":", 1)[0].removeprefix("line ")): text for text in err.splitlines() if text.startswith("line ")
    }


def test_without_skip_invalid_every_bad_line_is_reported_and_nothing_is_written(mixed_file):
    _out, err, message = run_rejected(mixed_file)

    reported = reported_lines(err)
    assert set(reported) == set(BAD_LINES)
    for number, reason in BAD_LINES.items():
        assert reason in reported[number]
    assert "8 of 12 rows rejected; nothing was written" in message
    assert not Book.objects.exists()
    assert not Author.objects.exists()
    assert not Genre.objects.exists()


def test_skip_invalid_writes_exactly_the_valid_rows(mixed_file):
    out, err, message = run_rejected(mixed_file, "--skip-invalid")

    assert set(reported_lines(err)) == set(BAD_LINES)
    assert "8 of 12 rows rejected; they were skipped" in message
    assert "Imported 4 books (4 created, 0 updated)" in out
    assert set(Book.objects.values_list("isbn", flat=True)) == VALID_ISBNS
    dune = Book.objects.get(isbn="9780441013593")
    assert (dune.title, dune.stock) == ("Dune", 5)
    assert [g.slug for g in dune.genres.all()] == ["science-fiction"]
    second = Book.objects.get(isbn="9788420412146")
    assert [link.author.name for link in second.author_links.order_by("position")] == ["Ann Author", "Bob Writer"]
    assert Book.objects.get(isbn="9780141439518").language == "fr"
    assert set(Author.objects.values_list("name", flat=True)) == {
        "Frank Herbert",
        "Jane Austen",
        "Ann Author",
        "Bob Writer",
    }
    assert Genre.objects.get(slug="science-fiction").name == "Science fiction"


def test_dry_run_reports_and_writes_nothing(mixed_file, tmp_path):
    _, err, message = run_rejected(mixed_file, "--dry-run")
    assert set(reported_lines(err)) == set(BAD_LINES)
    assert "dry run" in message
    assert not Book.objects.exists()

    out, _ = run(DOCS / "books-example.csv", "--dry-run")
    assert "all 6 rows" in out
    assert not Book.objects.exists()


@pytest.mark.parametrize("name", ["books-example.csv", "books-example.jsonl"])
def test_documented_example_files_import(name):
    out, err = run(DOCS / name)

    assert err == ""
    assert "Imported 6 books (6 created, 0 updated)" in out
    good_omens = Book.objects.get(isbn="9780060853983")
    assert [link.author.name for link in good_omens.author_links.order_by("position")] == [
        "Terry Pratchett",
        "Neil Gaiman",
    ]
    assert "\nNext Saturday" in good_omens.description
    assert Book.objects.get(isbn="9780441478125").title == "The Left Hand of Darkness"
    assert Book.objects.get(isbn="9788437604947").language == "es"
    assert Book.objects.get(isbn="9780141439518").is_active is False


def test_upsert_by_isbn_updates_in_place(tmp_path):
    old_author, kept_genre = AuthorFactory(name="Old Author"), GenreFactory(slug="kept")
    book = BookFactory(isbn="9780441013593", title="Old title", stock=7, price=Decimal("1.00"), authors=[old_author])
    book.genres.set([kept_genre])
    existing_author = AuthorFactory(name="Frank Herbert")
    path = tmp_path / "update.csv"
    # No stock or genres column: those keep their stored values.
    path.write_text(
        "isbn,title,authors,price\n"
        "0-441-01359-7,Dune,Frank Herbert;New Person,12.50\n"
        "9780306406157,Brand new,New Person,3.00\n"
    )

    out, _ = run(path)

    assert "Imported 2 books (1 created, 1 updated)" in out
    book.refresh_from_db()
    assert (book.title, book.price, book.stock) == ("Dune", Decimal("12.50"), 7)
    assert [link.author for link in book.author_links.order_by("position")] == [
        existing_author,
        Author.objects.get(name="New Person"),
    ]
    assert list(book.genres.all()) == [kept_genre]
    assert Author.objects.filter(name="New Person").count() == 1
    assert Book.objects.count() == 2


def test_jsonl_by_format_option(tmp_path):
    path = tmp_path / "books.txt"
    path.write_text('{"isbn": "9780441013593", "title": "Dune", "authors": ["Frank Herbert"], "price": "9.99"}\n')

    with pytest.raises(CommandError, match="--format"):
        run(path)
    out, _ = run(path, "--format", "jsonl")

    assert "Imported 1 books" in out
    assert Book.objects.get().title == "Dune"


def test_unreadable_header_is_a_command_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("isbn,title,colour\n9780441013593,Dune,red\n")
    with pytest.raises(CommandError, match="unknown column"):
        run(path)


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "nope.csv")


def test_batches_cover_every_row(tmp_path):
    from tests.factories import _isbn13

    path = tmp_path / "many.csv"
    path.write_text(HEADER + "\n" + "\n".join(csv_line(_isbn13(500 + n), f"Book {n}") for n in range(25)) + "\n")

    out, _ = run(path, "--batch-size", "4")

    assert "Imported 25 books (25 created, 0 updated)" in out
    assert Book.objects.count() == 25
    assert Author.objects.count() == 1


def test_imported_books_are_searchable_at_once(tmp_path):
    from catalog.search import book_search

    run(DOCS / "books-example.csv")
    assert list(book_search(Book.objects.all(), "Pratchett").values_list("isbn", flat=True)) == ["9780060853983"]

    path = tmp_path / "rename.csv"
    path.write_text("isbn,title,authors,price\n9780060853983,Armageddon Deferred,Terry Pratchett,16.99\n")
    run(path)

    assert list(book_search(Book.objects.all(), "Armageddon").values_list("isbn", flat=True)) == ["9780060853983"]
    assert not book_search(Book.objects.all(), "Omens").exists()
    assert not book_search(Book.objects.all(), "Gaiman").exists()


def test_search_entries_are_built_once_the_rows_are_merged_in_passes_of_reindex_chunk(tmp_path, monkeypatch):
    from catalog import bulk, services
    from catalog.search import book_search
    from tests.factories import _isbn13

    calls: list[tuple[int, bool]] = []
    written = services.books_written

    def spy(*, book_ids, reindex):
        book_ids = list(book_ids)
        calls.append((len(book_ids), reindex))
        written(book_ids=book_ids, reindex=reindex)

    monkeypatch.setattr(services, "books_written", spy)
    monkeypatch.setattr(bulk, "REINDEX_CHUNK", 10)
    path = tmp_path / "many.csv"
    path.write_text(HEADER + "\n" + "\n".join(csv_line(_isbn13(700 + n), f"Volume {n}") for n in range(25)) + "\n")

    run(path, "--batch-size", "4")

    # Seven batches reported written without a reindex, then the 25 books indexed in passes of 10.
    assert calls == [(4, False)] * 6 + [(1, False), (10, True), (10, True), (5, True)]
    assert book_search(Book.objects.all(), "Volume").count() == 25


def test_a_rejected_import_builds_no_search_entries(tmp_path, monkeypatch):
    from catalog import services
    from tests.factories import _isbn13

    reindexed: list[int] = []
    monkeypatch.setattr(services, "search_index_update", lambda *, book_ids: reindexed.extend(book_ids))
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n" + csv_line(_isbn13(800)) + "\n" + csv_line("not-an-isbn") + "\n")

    run_rejected(path, "--batch-size", "1")

    assert reindexed == []
    assert not Book.objects.exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only():
    terminal, pipe = _Terminal(), io.StringIO()

    call_command("import_books", str(DOCS / "books-example.csv"), "--dry-run", stdout=io.StringIO(), stderr=terminal)
    call_command("import_books", str(DOCS / "books-example.csv"), "--dry-run", stdout=io.StringIO(), stderr=pipe)

    assert "\rChecking [" in terminal.getvalue()
    assert "100%" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_errors_are_printed_on_clean_lines_under_the_progress_bar(mixed_file):
    terminal = _Terminal()
    with pytest.raises(CommandError):
        call_command("import_books", str(mixed_file), stdout=io.StringIO(), stderr=terminal)

    lines = [line.rsplit("\r", 1)[-1] for line in terminal.getvalue().splitlines()]
    assert set(BAD_LINES) <= {
        int(line.split(":")[0].removeprefix("line ")) for line in lines if line.startswith("line ")
    }
