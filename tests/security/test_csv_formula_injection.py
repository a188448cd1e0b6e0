"""CSV injection: every CSV the store writes neutralises cells a spreadsheet would run as a formula.

The attack: a staff member with catalog rights (or a customer choosing an email
address, or whoever names a coupon) stores ``=HYPERLINK("http://evil","x")`` or
``+cmd|' /C calc'!A0``; another staff member exports and opens the file in a
spreadsheet, which runs it. Each path (``export_books``, the admin's book
export, ``export_orders``, the admin's order export) must write such cells with
a leading apostrophe, and a book file must still import back unchanged.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from catalog.importing import COLUMNS as BOOK_COLUMNS
from catalog.models import Book
from catalog.spreadsheet import cell_neutralise, cell_restore
from orders.exporting import COLUMNS as ORDER_COLUMNS
from tests.factories import AuthorFactory, BookFactory, CouponFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil","x")'
DDE = "+cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
TAB = "\t=1+1"
CR = "\r=1+1"
ALREADY_QUOTED = "'=not a formula, an apostrophe"


def _formula_book() -> Book:
    return BookFactory(
        title=HYPERLINK,
        publisher=DDE,
        subtitle=MINUS,
        description=AT,
        authors=[AuthorFactory(name=TAB)],
    )


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_book_cells_neutralised(rows: list[list[str]], isbn: str) -> None:
    record = dict(zip(BOOK_COLUMNS, next(row for row in rows[1:] if row[0] == isbn), strict=True))
    assert record["title"] == "'" + HYPERLINK
    assert record["publisher"] == "'" + DDE
    assert record["subtitle"] == "'" + MINUS
    assert record["description"] == "'" + AT
    assert record["authors"] == "'" + TAB
    assert record["price"] == str(Book.objects.get(isbn=isbn).price)  # numbers stay numbers


def _admin() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _stream(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def test_admin_book_export() -> None:
    book = _formula_book()

    response = _admin().post("/admin/catalog/book/", {"action": "export_csv", "_selected_action": [book.pk]})

    _assert_book_cells_neutralised(_cells(_stream(response)), book.isbn)


def test_exported_book_file_imports_back_unchanged(tmp_path: Path) -> None:
    book = _formula_book()
    quoted = BookFactory(title=ALREADY_QUOTED, publisher=TAB)
    path = tmp_path / "books.csv"
    call_command("export_books", "--output", str(path), verbosity=0)
    Book.objects.filter(pk__in=[book.pk, quoted.pk]).update(title="changed", publisher="changed")

    call_command("import_books", str(path), verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())

    book.refresh_from_db()
    quoted.refresh_from_db()
    assert (book.title, book.publisher, book.subtitle) == (HYPERLINK, DDE, MINUS)
    # The import trims surrounding whitespace from text, as it always has: the tab goes.
    assert (quoted.title, quoted.publisher) == (ALREADY_QUOTED, TAB.strip())


def _formula_order() -> Any:
    return OrderFactory(user=UserFactory(email="+cmd@evil.test"), coupon_code=HYPERLINK)


def _assert_order_cells_neutralised(rows: list[list[str]], number: str) -> None:
    record = dict(zip(ORDER_COLUMNS, next(row for row in rows[1:] if row[0] == number), strict=True))
    assert record["customer_email"] == "'+cmd@evil.test"
    assert record["coupon_code"] == "'" + HYPERLINK
    assert record["total"] == "0.00"


def test_admin_order_export() -> None:
    order = _formula_order()
    CouponFactory(code="UNUSED")

    response = _admin().post("/admin/orders/order/", {"action": "export_csv", "_selected_action": [order.pk]})

    _assert_order_cells_neutralised(_cells(_stream(response)), order.number)


@pytest.mark.parametrize(
    ("command", "make", "check"),
    [
        ("export_books", lambda: _formula_book().isbn, lambda rows, key: _assert_book_cells_neutralised(rows, key)),
        (
            "export_orders",
            lambda: _formula_order().number,
            lambda rows, key: _assert_order_cells_neutralised(rows, key),
        ),
    ],
    ids=["export_books", "export_orders"],
)
def test_export_commands(tmp_path: Path, command: str, make: Any, check: Any) -> None:
    key = make()
    path = tmp_path / "export.csv"

    call_command(command, "--output", str(path), verbosity=0)

    check(_cells(path.read_text(encoding="utf-8")), key)


@pytest.mark.parametrize("value", [HYPERLINK, DDE, MINUS, AT, TAB, CR, "=", "'=x", "''@x", "'\t"])
def test_every_formula_prefix_is_neutralised_and_restored(value: str) -> None:
    assert cell_neutralise(value) == "'" + value
    assert cell_restore(cell_neutralise(value)) == value


@pytest.mark.parametrize(
    "value", ["Dune", "'Salem's Lot", "9.99", "-5", "+1.50", "", "a=b", "9780441013593 x 2 @ 9.99"]
)
def test_plain_text_and_numbers_are_left_alone(value: str) -> None:
    assert cell_neutralise(value) == value
    assert cell_restore(value) == value
