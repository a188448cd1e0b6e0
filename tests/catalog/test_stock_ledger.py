"""The stock ledger: every path that changes stock writes its movements, and stock = the sum of movements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import services
from catalog.bulk import books_upsert
from catalog.importing import BookRow
from catalog.ledger import ledger_mismatches
from catalog.models import Book, StockMovement
from orders.services import OrderLine, order_place, order_transition
from tests.factories import AuthorFactory, BookFactory, UserFactory

pytestmark = pytest.mark.django_db


def movements(book: Book) -> list[tuple[str, int, int]]:
    return list(book.stock_movements.order_by("id").values_list("kind", "delta", "stock_after"))


def test_a_new_book_opens_its_ledger_with_its_stock() -> None:
    staff = UserFactory(is_staff=True)
    book = services.book_create(
        authors=[AuthorFactory()], isbn="9780441013593", title="Dune", price=Decimal("9.99"), stock=4, by=staff
    )

    assert movements(book) == [("opening", 4, 4)]
    assert book.stock_movements.get().by == staff
    assert ledger_mismatches() == []


def test_an_order_is_a_sale_per_line_in_one_insert_and_cancelling_returns_it() -> None:
    first, second = BookFactory(stock=5), BookFactory(stock=3)
    customer, staff = UserFactory(), UserFactory(is_staff=True, is_superuser=True)

    order = order_place(
        user=customer, items=[OrderLine(book_id=first.pk, quantity=2), OrderLine(book_id=second.pk, quantity=3)]
    )
    sales = StockMovement.objects.filter(kind="sale").order_by("book_id")
    assert [(m.book_id, m.delta, m.stock_after, m.by, m.reference) for m in sales] == [
        (first.pk, -2, 3, customer, order.number),
        (second.pk, -3, 0, customer, order.number),
    ]

    order_transition(order=order, to="cancelled", by=staff)

    assert movements(first)[-1] == ("cancellation", 2, 5)
    assert StockMovement.objects.get(book=second, kind="cancellation").by == staff
    assert ledger_mismatches() == []


def test_an_expired_order_returns_its_stock_as_expiry() -> None:
    book = BookFactory(stock=2)
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])

    order_transition(order=order, to="cancelled", by=None)

    movement = StockMovement.objects.get(kind="expiry")
    assert (movement.delta, movement.stock_after, movement.by, movement.reference) == (1, 2, None, order.number)
    assert ledger_mismatches() == []


def test_a_stock_edit_records_the_difference_against_the_stored_stock() -> None:
    book = BookFactory(stock=10)
    staff = UserFactory(is_staff=True)
    stale = Book.objects.get(pk=book.pk)
    order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=4)])  # stock now 6

    services.book_update(book=stale, stock=8, by=staff)  # staff counted 8 on the shelf

    assert movements(book)[-1] == ("adjustment", 2, 8)
    assert ledger_mismatches() == []


def test_an_import_records_what_it_changed_in_one_insert_per_batch() -> None:
    kept, changed = BookFactory(isbn="9780441013593", stock=5), BookFactory(isbn="9780306406157", stock=5)

    def row(isbn: str, **values: Any) -> BookRow:
        base = {"line": 2, "isbn": isbn, "title": "T", "authors": ("A",), "price": Decimal("1.00")}
        return BookRow(**{**base, **values})

    rows = [
        row(kept.isbn, stock=5, present=frozenset({"stock"})),
        row(changed.isbn, stock=12, present=frozenset({"stock"})),
        row("9780131103627", stock=3, present=frozenset({"stock"})),  # new
        row("9780262033848", present=frozenset()),  # new, no stock column
    ]
    with CaptureQueriesContext(connection) as queries:
        books_upsert(rows=rows)

    inserts = [q["sql"] for q in queries.captured_queries if 'INSERT INTO "stock_movements"' in q["sql"]]
    assert len(inserts) == 1
    assert movements(kept) == [("opening", 5, 5)]
    assert movements(changed)[-1] == ("import", 7, 12)
    assert movements(Book.objects.get(isbn="9780131103627")) == [("import", 3, 3)]
    assert movements(Book.objects.get(isbn="9780262033848")) == []
    assert ledger_mismatches() == []


def test_api_and_admin_stock_changes_record_who_made_them() -> None:
    book = BookFactory(stock=3)
    admin = UserFactory(is_staff=True, is_superuser=True)
    api = APIClient()
    api.force_authenticate(admin)
    assert api.patch(f"/api/v1/books/{book.pk}", {"stock": 9}, format="json").status_code == 200
    client = Client()
    client.force_login(admin)
    client.post(
        "/admin/catalog/book/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(book.pk),
            "form-0-price": "10.00",
            "initial-form-0-price": "10.00",
            "form-0-stock": "4",
            "initial-form-0-stock": "9",
            "_save": "Save",
        },
    )

    assert [(m.kind, m.delta, m.by) for m in book.stock_movements.order_by("id")][1:] == [
        ("adjustment", 6, admin),
        ("adjustment", -5, admin),
    ]
    page = client.get(f"/admin/catalog/book/{book.pk}/change/").content.decode()
    assert 'id="stock-movements"' in page
    assert "Edited by staff" in page
    assert ledger_mismatches() == []


def staff_client(group: str) -> Client:
    user = UserFactory(is_staff=True)
    user.groups.set(Group.objects.filter(name=group))
    client = Client()
    client.force_login(user)
    return client


def test_the_ledger_list_is_read_only_and_catalog_managers_read_it() -> None:
    book = BookFactory(stock=3)
    catalog = staff_client("Catalog managers")
    orders = staff_client("Order managers")

    listing = catalog.get("/admin/catalog/stockmovement/", {"book__id__exact": book.pk})

    assert listing.status_code == 200
    assert "Opening balance" in listing.content.decode()
    assert catalog.get("/admin/catalog/stockmovement/add/").status_code == 403
    assert orders.get("/admin/catalog/stockmovement/").status_code == 403


def test_mismatches_are_found() -> None:
    book = BookFactory(stock=3)
    Book.objects.filter(pk=book.pk).update(stock=4)  # behind the services' back

    assert ledger_mismatches() == [(book.pk, 4, 3)]


def test_a_preorder_takes_no_stock_so_only_its_return_to_stock_is_a_movement() -> None:
    from datetime import timedelta

    from django.utils import timezone

    soon = BookFactory(
        publication_status="forthcoming",
        release_date=timezone.localdate() + timedelta(days=30),
        preorder_allowance=10,
        stock=3,
    )
    shelf = BookFactory(stock=4)
    customer = UserFactory()

    only_preorders = order_place(user=customer, items=[OrderLine(book_id=soon.pk, quantity=2)])
    mixed = order_place(
        user=customer, items=[OrderLine(book_id=soon.pk, quantity=1), OrderLine(book_id=shelf.pk, quantity=1)]
    )
    assert movements(soon) == [("opening", 3, 3)]  # the allowance is no stock
    assert movements(shelf)[-1] == ("sale", -1, 3)
    assert StockMovement.objects.filter(reference=only_preorders.number).count() == 0
    assert list(StockMovement.objects.filter(reference=mixed.number).values_list("book_id", flat=True)) == [shelf.pk]

    order_transition(order=mixed, to="cancelled", by=customer)  # the preorder goes back to the allowance
    assert movements(soon) == [("opening", 3, 3)]
    assert movements(shelf)[-1] == ("cancellation", 1, 4)

    Book.objects.filter(pk=soon.pk).update(release_date=timezone.localdate())
    assert services.book_release_due() == 1
    assert movements(soon) == [("opening", 3, 3)]  # the release changes no stock either
    order_transition(order=only_preorders, to="cancelled", by=customer)  # now the copies return to stock
    assert movements(soon)[-1] == ("cancellation", 2, 5)
    assert ledger_mismatches() == []


def test_an_onix_import_writes_the_stock_it_sets_as_import_movements() -> None:
    from catalog.bulk import books_import
    from tests.catalog.onix.feeds import PRODUCTS, feed

    data = feed("reference").encode()
    with CaptureQueriesContext(connection) as queries:
        result = books_import(open_lines=lambda: [data], fmt="onix")
    assert (result.created, result.rejected) == (len(PRODUCTS), 0)

    inserts = [q["sql"] for q in queries.captured_queries if 'INSERT INTO "stock_movements"' in q["sql"]]
    assert len(inserts) == 1  # one batch
    stocked = {item.isbn: item.stock for item in PRODUCTS if item.stock}
    assert stocked
    assert dict(StockMovement.objects.values_list("book__isbn", "delta")) == stocked
    assert set(StockMovement.objects.values_list("kind", flat=True)) == {"import"}
    assert ledger_mismatches() == []
