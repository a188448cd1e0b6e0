"""manage.py export_books: streaming export whose output re-imports as the same catalog."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.bulk import book_export_records
from catalog.importing import COLUMNS
from catalog.models import Author, Book, BookAuthor, Genre
from tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog() -> None:
    # Genre names are not in the file: an import names a new genre after its slug, as these are.
    herbert, gaiman, pratchett = (AuthorFactory(name=n) for n in ("Frank Herbert", "Neil Gaiman", "Terry Pratchett"))
    sf, fantasy = (
        GenreFactory(name="Science fiction", slug="science-fiction"),
        GenreFactory(name="Fantasy", slug="fantasy"),
    )
    BookFactory(
        isbn="9780441013593",
        title="Dune",
        subtitle='The "first" book, of six',
        description="Line one\nline two, with a comma; and a semicolon",
        publisher="Ace",
        published_date=date(1965, 8, 1),
        language="en",
        page_count=896,
        price=Decimal("9.99"),
        stock=12,
        authors=[herbert],
        genres=[sf],
    )
    # Authors in cover order, which is not alphabetical.
    BookFactory(
        isbn="9780060853983",
        title="Good Omens",
        authors=[pratchett, gaiman],
        genres=[fantasy, sf],
        price=Decimal("0.00"),
        stock=0,
        publisher="",
        description="",
    )
    BookFactory(
        isbn="9788437604947",
        title="Cien años de soledad",
        language="es",
        is_active=False,
        authors=[AuthorFactory(name="Gabriel García Márquez")],
    )


def snapshot() -> list[tuple]:
    return [
        (
            book.isbn,
            book.title,
            book.subtitle,
            book.description,
            tuple(link.author.name for link in book.author_links.order_by("position")),
            tuple(sorted((genre.slug, genre.name) for genre in book.genres.all())),
            book.publisher,
            book.published_date,
            book.language,
            book.page_count,
            book.price,
            book.stock,
            book.is_active,
        )
        for book in Book.objects.order_by("isbn")
    ]


def wipe() -> None:
    Book.genres.through.objects.all().delete()
    BookAuthor.objects.all().delete()
    Book.objects.all().delete()
    Author.objects.all().delete()
    Genre.objects.all().delete()


@pytest.mark.parametrize("extension", ["csv", "jsonl"])
def test_round_trip_export_wipe_import_gives_the_same_catalog(catalog, tmp_path: Path, extension):
    before = snapshot()
    path = tmp_path / f"books.{extension}"

    call_command("export_books", "--output", str(path), stderr=io.StringIO())
    wipe()
    assert not Book.objects.exists()
    call_command("import_books", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    assert snapshot() == before
    assert len(before) == 3


def test_csv_to_stdout_has_the_import_columns(catalog):
    out = io.StringIO()
    call_command("export_books", stdout=out)

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(COLUMNS)
    by_isbn = {row["isbn"]: row for row in rows}
    assert by_isbn["9780060853983"]["authors"] == "Terry Pratchett;Neil Gaiman"
    assert by_isbn["9780441013593"]["price"] == "9.99"
    assert by_isbn["9788437604947"]["is_active"] == "false"
    assert by_isbn["9788437604947"]["published_date"] == ""


def test_jsonl_to_stdout(catalog):
    out = io.StringIO()
    call_command("export_books", "--format", "jsonl", stdout=out)

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 3
    dune = next(r for r in records if r["isbn"] == "9780441013593")
    assert dune["authors"] == ["Frank Herbert"]
    assert dune["price"] == "9.99"  # money is never a float
    assert dune["published_date"] == "1965-08-01"
    assert dune["stock"] == 12


def test_export_reads_in_chunks_not_the_whole_table(catalog, django_assert_num_queries):
    records = book_export_records(chunk_size=2)

    # One cursor over the books, and per chunk two prefetch queries (author links, genres),
    # run as the stream reaches that chunk.
    with django_assert_num_queries(3):
        first = next(records)
    with django_assert_num_queries(0):
        next(records)
    with django_assert_num_queries(2):
        next(records)
    assert first["isbn"] == "9780441013593"


def test_csv_warns_about_author_names_it_cannot_keep():
    BookFactory(isbn="9780441013593", authors=[AuthorFactory(name="Smith; Jones & Co")])
    out, err = io.StringIO(), io.StringIO()

    call_command("export_books", stdout=out, stderr=err)

    assert "9780441013593" in err.getvalue()
    assert "--format jsonl" in err.getvalue()
