"""Goods in and stock-take by barcode: lookups, committing a batch in one transaction, the ledger, permissions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from catalog.ledger import ledger_mismatches
from catalog.models import Book, StockMovement
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

SCAN = "/admin/catalog/book/scan/"


def test_lookup_answers_title_and_stock_for_any_isbn_spelling(admin_client: Client) -> None:
    book = BookFactory(isbn="9780306406157", title="Dune", stock=4)

    found = admin_client.get(SCAN + "lookup/", {"isbn": "0-306-40615-2"})
    unknown = admin_client.get(SCAN + "lookup/", {"isbn": "9780131103627"})
    invalid = admin_client.get(SCAN + "lookup/", {"isbn": "12345"})

    assert found.json() == {"isbn": "9780306406157", "id": book.pk, "title": "Dune", "stock": 4}
    assert unknown.status_code == 404
    assert invalid.status_code == 400


def test_goods_in_adds_the_counts_and_lists_unknown_isbns(admin_client: Client, superuser: object) -> None:
    dune, emma = BookFactory(isbn="9780306406157", stock=4), BookFactory(isbn="9780141439587", stock=0)

    response = admin_client.post(
        SCAN,
        {
            "mode": "goods_in",
            "isbn": ["9780306406157", "9780141439587", "978-0-306-40615-7"],
            "count": ["3", "2", "1"],
            "unknown": ["9780000000002"],
            "reference": "DN-4711",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Received 6 copies of 2 titles" in page
    assert "9780000000002" in page.split('id="scan-result-unknown"')[1]
    assert Book.objects.get(pk=dune.pk).stock == 8
    assert Book.objects.get(pk=emma.pk).stock == 2
    movement = StockMovement.objects.get(book=dune, kind="goods_in")
    assert (movement.delta, movement.stock_after, movement.reference, movement.by) == (4, 8, "DN-4711", superuser)
    assert ledger_mismatches() == []


def test_stock_take_sets_counted_titles_and_records_only_differences(admin_client: Client) -> None:
    short, right, over = BookFactory(stock=5), BookFactory(stock=2), BookFactory(stock=1)
    untouched = BookFactory(stock=9)

    response = admin_client.post(
        SCAN,
        {"mode": "stocktake", "isbn": [short.isbn, right.isbn, over.isbn], "count": ["3", "2", "4"]},
    )

    assert "2 titles corrected of 3 counted" in response.content.decode()
    assert [Book.objects.get(pk=b.pk).stock for b in (short, right, over, untouched)] == [3, 2, 4, 9]
    assert sorted(StockMovement.objects.filter(kind="stocktake").values_list("delta", flat=True)) == [-2, 3]
    assert ledger_mismatches() == []


def test_a_bad_count_commits_nothing(admin_client: Client) -> None:
    first, second = BookFactory(stock=5), BookFactory(stock=5)

    response = admin_client.post(SCAN, {"mode": "goods_in", "isbn": [first.isbn, second.isbn], "count": ["2", "-1"]})

    assert 'id="scan-errors"' in response.content.decode()
    assert [Book.objects.get(pk=b.pk).stock for b in (first, second)] == [5, 5]
    assert not StockMovement.objects.filter(kind="goods_in").exists()


def test_only_staff_who_change_books_scan(staff_client_for: Callable[..., Client]) -> None:
    book = BookFactory(stock=1)
    orders = staff_client_for("Order managers")
    catalog = staff_client_for("Catalog managers")

    assert orders.get(SCAN).status_code == 403
    assert orders.post(SCAN, {"mode": "goods_in", "isbn": [book.isbn], "count": ["5"]}).status_code == 403
    assert orders.get(SCAN + "lookup/", {"isbn": book.isbn}).status_code == 403
    assert catalog.get(SCAN).status_code == 200
    assert 'id="goods-in-link"' in catalog.get("/admin/catalog/book/").content.decode()
    assert Book.objects.get(pk=book.pk).stock == 1
