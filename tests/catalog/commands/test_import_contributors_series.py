"""Book files carry contributors in every role, the series, the format and the publication status."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.importing import COLUMNS, RowError, read_books
from catalog.models import Book, BookAuthor, Series
from tests.factories import AuthorFactory, BookFactory, SeriesFactory, WorkFactory

HEADER = ",".join(COLUMNS)


def csv_line(**values: str) -> str:
    fields = {"isbn": "9780441013593", "title": "Dune", "authors": "Frank Herbert", "price": "9.99", **values}
    return ",".join(fields.get(column, "") for column in COLUMNS)


def errors_of(text: str) -> list[str]:
    return [row.reason for row in read_books(text.encode().splitlines(), fmt="csv") if isinstance(row, RowError)]


def test_a_row_reads_contributors_series_format_and_status() -> None:
    (row,) = read_books(
        [
            HEADER.encode(),
            csv_line(
                authors="",
                contributors="author:Frank Herbert; illustrator:John Schoenherr ;TRANSLATOR: Michel Demuth",
                series="Dune Chronicles",
                series_number="1",
                format="Hardcover",
                publication_status="forthcoming",
                release_date="2031-02-03",
                preorder_allowance="40",
            ).encode(),
        ],
        fmt="csv",
    )
    assert not isinstance(row, RowError), row
    assert row.contributors == (
        ("Frank Herbert", "author"),
        ("John Schoenherr", "illustrator"),
        ("Michel Demuth", "translator"),
    )
    assert row.authors == ("Frank Herbert",)  # the author-role names, in order
    assert (row.series, row.series_number, row.format) == ("Dune Chronicles", 1, "hardcover")
    assert (row.publication_status, row.release_date, row.preorder_allowance) == ("forthcoming", date(2031, 2, 3), 40)


def test_jsonl_takes_contributors_as_objects() -> None:
    record = {
        "isbn": "9780441013593",
        "title": "Dune",
        "authors": [],
        "price": "9.99",
        "contributors": [{"name": "Scott Brick", "role": "narrator"}, "author:Frank Herbert"],
    }
    (row,) = read_books([json.dumps(record).encode()], fmt="jsonl")
    assert not isinstance(row, RowError), row
    assert row.contributors == (("Scott Brick", "narrator"), ("Frank Herbert", "author"))


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"contributors": "cook:Ann"}, "contributors: unknown role 'cook'"),
        ({"contributors": "Ann Author"}, "contributors: 'Ann Author' is not 'role:Name'"),
        ({"contributors": "editor:"}, "contributors: a editor without a name"),
        ({"authors": "Someone Else", "contributors": "author:Frank Herbert"}, "authors: must list the contributors"),
        ({"authors": "", "contributors": ""}, "authors: at least one author is required"),
        ({"format": "scroll"}, "format: 'scroll' is not one of"),
        ({"publication_status": "gone"}, "publication_status: 'gone' is not one of"),
        ({"publication_status": "forthcoming"}, "release_date: required for a forthcoming book"),
        ({"series_number": "2"}, "series_number: needs a series"),
        ({"series": "S", "series_number": "two"}, "series_number: expected a whole number"),
        ({"preorder_allowance": "-1"}, "preorder_allowance: must be 0 or more"),
    ],
)
def test_bad_values_are_reported_on_their_line(values: dict[str, str], reason: str) -> None:
    (error,) = errors_of(f"{HEADER}\n{csv_line(**values)}\n")
    assert reason in error


@pytest.mark.django_db
def test_import_writes_credits_in_roles_series_and_works(tmp_path: Path) -> None:
    existing = BookFactory(isbn="9780441013593", title="Dune", series=SeriesFactory(name="Old"), series_number=9)
    work_before = existing.work_id
    path = tmp_path / "books.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                csv_line(
                    contributors="author:Frank Herbert;illustrator:John Schoenherr",
                    series="Dune Chronicles",
                    series_number="1",
                    format="paperback",
                ),
                csv_line(
                    isbn="9780593099322",
                    contributors="author:Frank Herbert",
                    series="Dune Chronicles",
                    series_number="1",
                    format="hardcover",
                    publication_status="out_of_print",
                ),
                csv_line(isbn="9780547773742", title="Earthsea", authors="Ursula K. Le Guin"),
            ]
        )
        + "\n"
    )
    call_command("import_books", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    dune = Book.objects.get(isbn="9780441013593")
    assert [(link.author.name, link.role, link.position) for link in dune.author_links.order_by("position")] == [
        ("Frank Herbert", "author", 0),
        ("John Schoenherr", "illustrator", 1),
    ]
    assert (dune.series.name, dune.series_number, dune.format) == ("Dune Chronicles", 1, "paperback")
    assert dune.work_id == work_before  # an existing book keeps its work
    hardcover = Book.objects.get(isbn="9780593099322")
    assert (hardcover.format, hardcover.publication_status) == ("hardcover", "out_of_print")
    assert hardcover.work_id not in (None, dune.work_id)  # a new book gets a work of its own
    earthsea = Book.objects.get(isbn="9780547773742")
    assert (earthsea.series_id, earthsea.format, earthsea.publication_status) == (None, "other", "active")
    assert list(earthsea.author_links.values_list("role", flat=True)) == ["author"]
    assert Series.objects.filter(name="Dune Chronicles").count() == 1
    assert BookAuthor.objects.filter(author__name="Frank Herbert").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("extension", ["csv", "jsonl"])
def test_export_and_reimport_keep_every_role_the_series_and_the_status(tmp_path: Path, extension: str) -> None:
    herbert, schoenherr, editor = (AuthorFactory(name=n) for n in ("Frank Herbert", "John Schoenherr", "Ann Ed"))
    series = SeriesFactory(name="Dune Chronicles")
    work = WorkFactory()
    BookFactory(
        isbn="9780441013593",
        contributors=[(herbert, "author"), (schoenherr, "illustrator")],
        series=series,
        series_number=1,
        format="paperback",
        work=work,
    )
    BookFactory(
        isbn="9780593099322",
        contributors=[(editor, "editor")],
        format="board_book",
        publication_status="forthcoming",
        release_date=date(2031, 1, 2),
        preorder_allowance=12,
        work=work,
    )
    columns = ("contributors", "format", "series_number", "publication_status", "release_date", "preorder_allowance")

    def snapshot() -> list[tuple]:
        return [
            (
                book.isbn,
                [(link.author.name, link.role) for link in book.author_links.order_by("position")],
                book.series.name if book.series else None,
                *(getattr(book, name) for name in columns[1:]),
            )
            for book in Book.objects.order_by("isbn")
        ]

    before = snapshot()
    path = tmp_path / f"books.{extension}"
    call_command("export_books", "--output", str(path), stderr=io.StringIO())
    if extension == "csv":
        assert "illustrator:John Schoenherr" in path.read_text()
    BookAuthor.objects.all().delete()
    Book.objects.all().delete()
    call_command("import_books", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert snapshot() == before
