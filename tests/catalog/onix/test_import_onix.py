"""import_books --format onix: the 60-product feed lands with every field, through the bulk path."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.bulk import books_import
from catalog.importing import RowError, RowNotice
from catalog.models import Book
from catalog.search import book_search
from tests.catalog.onix.feeds import PRODUCTS, feed, feed_path
from tests.catalog.onix.test_reader import message, product

pytestmark = pytest.mark.django_db


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_books", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_rejected(path: Path, *args: str) -> tuple[str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_books", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(excinfo.value)


def stored(book: Book) -> dict[str, object]:
    return {
        "isbn": book.isbn,
        "title": book.title,
        "subtitle": book.subtitle,
        "description": book.description,
        "credits": [(link.author.name, link.role) for link in book.author_links.order_by("position")],
        "series": book.series.name if book.series else None,
        "series_number": book.series_number,
        "format": book.format,
        "publication_status": book.publication_status,
        "release_date": book.release_date,
        "published_date": book.published_date,
        "language": book.language,
        "page_count": book.page_count,
        "price": book.price,
        "stock": book.stock,
        "publisher": book.publisher,
    }


def expected(item: object) -> dict[str, object]:
    from tests.catalog.onix.feeds import FeedProduct

    assert isinstance(item, FeedProduct)
    published = date.fromisoformat(item.published_date)
    return {
        "isbn": item.isbn,
        "title": item.title,
        "subtitle": item.subtitle,
        "description": item.description,
        "credits": [(credit.name, credit.role) for credit in item.credits],
        "series": item.series,
        "series_number": item.series_number,
        "format": item.format,
        "publication_status": item.publication_status,
        "release_date": published if item.publication_status == "forthcoming" else None,
        "published_date": published,
        "language": item.language,
        "page_count": item.page_count,
        "price": Decimal(item.price),
        "stock": item.stock,
        "publisher": item.publisher,
    }


@pytest.mark.parametrize("flavour", ["reference", "short"])
def test_the_feed_imports_with_every_field_in_place(flavour: str) -> None:
    out, err = run(feed_path(flavour), "--format", "onix")

    assert f"Imported {len(PRODUCTS)} books ({len(PRODUCTS)} created, 0 updated)" in out
    gbp = [item for item in PRODUCTS if item.gbp_price]
    assert err.splitlines() == [
        f"line {line}: note: Price {item.gbp_price} GBP of PriceType 02 not used"
        for line, item in zip(_product_lines(flavour, gbp), gbp, strict=True)
    ]
    books = {book.isbn: book for book in Book.objects.select_related("series")}
    assert len(books) == len(PRODUCTS)
    for item in PRODUCTS:
        assert stored(books[item.isbn]) == expected(item), item.record
    # Every edition has a work of its own; the search index holds the imported text.
    assert len({book.work_id for book in books.values()}) == len(PRODUCTS)
    first = PRODUCTS[1]
    found = book_search(Book.objects.all(), first.title)
    assert first.isbn in {book.isbn for book in found}


def _product_lines(flavour: str, items: list[object]) -> list[str]:
    text = feed_path(flavour).read_text().splitlines()
    starts = [n for n, line in enumerate(text, start=1) if line.strip() in ("<Product>", "<product>")]
    by_record = {PRODUCTS[index].record: starts[index] for index in range(len(PRODUCTS))}
    return [
        f"{by_record[item.record]} (record {item.record}, ISBN {item.isbn})"  # type: ignore[attr-defined]
        for item in items
    ]


def test_a_second_import_updates_and_the_short_feed_gives_the_same_catalog() -> None:
    run(feed_path("reference"))  # the .xml extension says ONIX
    before = {book.isbn: stored(book) for book in Book.objects.select_related("series")}
    out, _ = run(feed_path("short"))
    assert f"({len(PRODUCTS)} updated)" in out.replace("0 created, ", "")
    after = {book.isbn: stored(book) for book in Book.objects.select_related("series")}
    assert after == before


def test_a_rejected_product_is_reported_with_record_and_isbn_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    usd = "<Price><PriceType>02</PriceType><PriceAmount>5</PriceAmount><CurrencyCode>USD</CurrencyCode></Price>"
    path.write_text(message(product("good") + product("usd", "9780306406157", supply=usd)))

    _, err, failure = run_rejected(path)
    assert "line 7 (record usd, ISBN 9780306406157): price: required" in err.splitlines()
    assert "1 of 2 rows rejected; nothing was written" in failure
    assert not Book.objects.exists()

    _, err, failure = run_rejected(path, "--skip-invalid")
    assert list(Book.objects.values_list("isbn", flat=True)) == ["9780441013593"]
    assert "they were skipped" in failure


def test_a_deletion_leaves_the_book_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(message(product("r1")))
    run(path)
    path.write_text(message(product("r1", notification="05")))
    out, err = run(path)
    assert "NotificationType 05 (delete) is not applied" in err
    assert "1 values reported and left out" in out
    assert Book.objects.get(isbn="9780441013593").is_active


def test_unreadable_feed_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(message(product("a") + "<Product><RecordReference>b</Record></Product>"))
    _, _, failure = run_rejected(path, "--skip-invalid")
    assert "line 7: not well-formed XML" in failure
    assert not Book.objects.exists()


def test_the_entry_point_takes_chunks_as_an_upload_gives_them() -> None:
    """What the admin upload calls: ``books_import`` with the uploaded file's chunks, as for CSV."""
    data = feed("short").encode()
    errors: list[RowError] = []
    notices: list[RowNotice] = []
    result = books_import(
        open_lines=lambda: (data[start : start + 4096] for start in range(0, len(data), 4096)),
        fmt="onix",
        on_error=errors.append,
        on_notice=notices.append,
    )
    assert (result.created, result.rejected, errors) == (len(PRODUCTS), 0, [])
    assert len(notices) == sum(1 for item in PRODUCTS if item.gbp_price)


@pytest.mark.parametrize("command", ["export_books", "export_orders"])
def test_exports_do_not_offer_onix(command: str) -> None:
    """The store reads ONIX but never writes it."""
    with pytest.raises(CommandError, match="invalid choice: 'onix'"):
        call_command(command, "--format", "onix", stdout=io.StringIO(), stderr=io.StringIO())
