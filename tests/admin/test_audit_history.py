"""Changes to prices, stock, coupons and order status reach the admin's history by every path, with who made them.

One test per path (API, admin pages and actions, goods-in and stock-take, jobs); each checks the LogEntry rows
and that the object's History page shows them. Staff groups see the history of their own part only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bookstore.audit import SYSTEM_EMAIL
from catalog.models import Book
from orders.expiry import order_expire_unpaid
from orders.models import Coupon, Order
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, CouponFactory, UserFactory

pytestmark = pytest.mark.django_db


def _history(obj: Any) -> list[tuple[str, int, str]]:
    """(who, action, rendered message) of every entry on ``obj``, oldest first."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).order_by("action_time", "pk")
    return [(e.user.email, e.action_flag, e.get_change_message()) for e in entries.select_related("user")]


def _history_page(client: Client, obj: Any) -> str:
    meta = obj._meta
    response = client.get(f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/history/")
    assert response.status_code == 200
    return response.content.decode()


# --- books: price and stock -------------------------------------------------------------------------------------


def test_api_patch_of_price_and_stock_is_in_the_book_history(
    staff_client: APIClient, staff_user: Any, admin_client: Client
) -> None:
    book = BookFactory(price=Decimal("10.00"), stock=3)

    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"price": "12.50", "stock": 8}, format="json")

    assert response.status_code == 200, response.content
    [entry] = LogEntry.objects.filter(object_id=str(book.pk), action_flag=CHANGE)
    assert json.loads(entry.change_message)[0]["changed"]["fields"] == ["price (10.00 → 12.50)", "stock (3 → 8)"]
    assert _history(book) == [(staff_user.email, CHANGE, "Changed price (10.00 → 12.50) and stock (3 → 8).")]
    assert "Changed price (10.00 → 12.50) and stock (3 → 8)." in _history_page(admin_client, book)


def test_an_api_change_of_other_fields_only_adds_no_entry(staff_client: APIClient) -> None:
    book = BookFactory(price=Decimal("10.00"))

    staff_client.patch(f"/api/v1/books/{book.pk}", {"subtitle": "Revised"}, format="json")

    assert _history(book) == []


def test_admin_list_edit_of_a_price_is_logged_once_with_old_and_new(admin_client: Client, superuser: Any) -> None:
    book = BookFactory(price=Decimal("10.00"), stock=2)
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(book.pk),
        "form-0-price": "11.00",
        "initial-form-0-price": "10.00",
        "form-0-stock": "2",
        "initial-form-0-stock": "2",
        "_save": "Save",
    }

    response = admin_client.post("/admin/catalog/book/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _history(book) == [(superuser.email, CHANGE, "Changed price (10.00 → 11.00).")]


def test_admin_price_change_action_logs_each_book(admin_client: Client, superuser: Any) -> None:
    books = [BookFactory(price=Decimal("10.00")), BookFactory(price=Decimal("20.00"))]

    admin_client.post(
        "/admin/catalog/book/",
        {"action": "change_price", "_selected_action": [b.pk for b in books], "apply": "1", "percent": "10"},
    )

    assert [Book.objects.get(pk=b.pk).price for b in books] == [Decimal("11.00"), Decimal("22.00")]
    assert _history(books[0]) == [(superuser.email, CHANGE, "Changed price (10.00 → 11.00) for price change “+10%”.")]
    assert "price (20.00 → 22.00)" in _history_page(admin_client, books[1])


def test_goods_in_and_stock_take_pages_log_each_book(admin_client: Client, superuser: Any) -> None:
    dune, emma = BookFactory(isbn="9780306406157", stock=4), BookFactory(isbn="9780141439587", stock=6)

    admin_client.post(
        "/admin/catalog/book/scan/",
        {"mode": "goods_in", "isbn": [dune.isbn], "count": ["3"], "reference": "DN-1"},
    )
    admin_client.post(
        "/admin/catalog/book/scan/",
        {"mode": "stocktake", "isbn": [dune.isbn, emma.isbn], "count": ["7", "5"], "reference": "ST-9"},
    )

    assert _history(dune) == [(superuser.email, CHANGE, "Changed stock (4 → 7) for goods in “DN-1”.")]
    assert _history(emma) == [(superuser.email, CHANGE, "Changed stock (6 → 5) for stock-take “ST-9”.")]
    assert "Changed stock (6 → 5) for stock-take" in _history_page(admin_client, emma)


# --- coupons ----------------------------------------------------------------------------------------------------


def test_coupon_create_update_delete_through_the_api_are_in_its_history(
    staff_client: APIClient, staff_user: Any
) -> None:
    created = staff_client.post(
        "/api/v1/coupons", {"code": "SPRING", "kind": "percent", "value": "10.00"}, format="json"
    )
    assert created.status_code == 201, created.content
    coupon = Coupon.objects.get(pk=created.json()["id"])

    staff_client.patch(f"/api/v1/coupons/{coupon.pk}", {"value": "15.00", "is_active": False}, format="json")
    assert staff_client.delete(f"/api/v1/coupons/{coupon.pk}").status_code == 204

    assert _history(coupon) == [
        (staff_user.email, ADDITION, "Added coupon “SPRING: percent 10.00”."),
        (staff_user.email, CHANGE, "Changed value (10.00 → 15.00) and is_active (True → False)."),
        (staff_user.email, DELETION, "Deleted coupon “SPRING: percent 15.00”."),
    ]


def test_coupon_admin_edit_is_logged_once_by_the_service(admin_client: Client, superuser: Any) -> None:
    coupon = CouponFactory(code="WINTER", kind="percent", value=Decimal("10"))

    response = admin_client.post(
        f"/admin/orders/coupon/{coupon.pk}/change/",
        {"code": "WINTER", "kind": "percent", "value": "12", "min_subtotal": "", "max_uses": "", "is_active": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert _history(coupon) == [(superuser.email, CHANGE, "Changed value (10.00 → 12.00).")]
    assert "Changed value (10.00 → 12.00)." in _history_page(admin_client, coupon)


# --- orders -----------------------------------------------------------------------------------------------------


def test_api_transitions_pay_ship_deliver_are_in_the_order_history(
    staff_client: APIClient, staff_user: Any, admin_client: Client
) -> None:
    book = BookFactory(stock=5)
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])

    assert staff_client.post(f"/api/v1/orders/{order.pk}/pay").status_code == 200
    shipped = staff_client.post(
        f"/api/v1/orders/{order.pk}/ship", {"carrier": "DHL", "tracking_number": "JD01"}, format="json"
    )
    assert shipped.status_code == 200, shipped.content
    assert staff_client.post(f"/api/v1/orders/{order.pk}/deliver").status_code == 200

    assert _history(order) == [
        (staff_user.email, CHANGE, "Changed status (pending → paid)."),
        (staff_user.email, CHANGE, "Changed status (paid → shipped) and tracking number (— → DHL JD01)."),
        (staff_user.email, CHANGE, "Changed status (shipped → delivered)."),
    ]
    page = _history_page(admin_client, order)
    assert "Changed status (shipped → delivered)." in page
    assert "3 entries" in page


def test_a_customer_cancelling_through_the_api_is_named_in_the_history(make_client: Callable[..., APIClient]) -> None:
    customer = UserFactory()
    order = order_place(user=customer, items=[OrderLine(book_id=BookFactory(stock=2).pk, quantity=1)])

    assert make_client(customer).post(f"/api/v1/orders/{order.pk}/cancel").status_code == 200

    assert _history(order) == [(customer.email, CHANGE, "Changed status (pending → cancelled).")]


def test_the_expiry_job_acts_as_the_system_account(admin_client: Client) -> None:
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=BookFactory(stock=2).pk, quantity=1)])
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=30))

    assert order_expire_unpaid() == 1

    assert _history(order) == [(SYSTEM_EMAIL, CHANGE, "Changed status (pending → cancelled).")]
    page = _history_page(admin_client, order)
    assert SYSTEM_EMAIL in page or "System" in page


# --- who sees which history -------------------------------------------------------------------------------------


def test_catalog_managers_see_book_history_but_not_order_history(
    staff_client_for: Callable[..., Client], staff_client: APIClient
) -> None:
    book = BookFactory(price=Decimal("10.00"))
    staff_client.patch(f"/api/v1/books/{book.pk}", {"price": "9.00"}, format="json")
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])
    staff_client.post(f"/api/v1/orders/{order.pk}/pay")
    catalog, orders = staff_client_for("Catalog managers"), staff_client_for("Order managers")

    assert "Changed price (10.00 → 9.00)." in _history_page(catalog, book)
    assert catalog.get(f"/admin/orders/order/{order.pk}/history/").status_code == 403
    assert "Changed status (pending → paid)." in _history_page(orders, order)
    assert orders.get(f"/admin/catalog/book/{book.pk}/history/").status_code == 403
