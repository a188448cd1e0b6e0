"""Orders in the admin: bounded queries on big tables, CSV export, status actions through the service."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import orders.admin as orders_admin
from catalog.models import Book
from orders.exporting import COLUMNS
from orders.models import Order
from orders.rollup import sales_rollup_refresh
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, CouponFactory, OrderFactory, OrderItemFactory, StatusChangeFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


def _queries(client: Client, url: str) -> int:
    sales_rollup_refresh()  # the periodic job; the list would fold new orders into the rollup itself otherwise
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _orders(n: int) -> list[Order]:
    coupon = CouponFactory()
    made = []
    for i in range(n):
        order = OrderFactory(coupon=coupon if i % 2 else None, coupon_code=coupon.code if i % 2 else "")
        OrderItemFactory(order=order)
        made.append(order)
    return made


def test_order_changelist_runs_the_same_queries_for_5_and_50_orders(admin_client: Client) -> None:
    urls = [CHANGELIST, CHANGELIST + "?status__exact=pending", CHANGELIST + "?q=someone@example.com"]
    _orders(5)
    with_5 = [_queries(admin_client, url) for url in urls]
    _orders(45)

    assert [_queries(admin_client, url) for url in urls] == with_5


def test_order_page_runs_the_same_queries_for_1_and_20_lines_and_history_steps(admin_client: Client) -> None:
    def order_with(lines: int) -> Order:
        order = OrderFactory()
        for _ in range(lines):
            OrderItemFactory(order=order)
            StatusChangeFactory(order=order, by=UserFactory(is_staff=True))
        return order

    small, big = order_with(1), order_with(20)
    admin_client.get(f"{CHANGELIST}{small.pk}/change/")  # warm the content-type cache

    with_1 = _queries(admin_client, f"{CHANGELIST}{small.pk}/change/")
    assert _queries(admin_client, f"{CHANGELIST}{big.pk}/change/") == with_1


def test_order_page_is_read_only(admin_client: Client) -> None:
    order = OrderFactory(status="paid")
    OrderItemFactory(order=order, quantity=2)

    page = admin_client.get(f"{CHANGELIST}{order.pk}/change/").content.decode()
    admin_client.post(f"{CHANGELIST}{order.pk}/change/", {"status": "delivered", "total": "0.01"})

    assert 'name="status"' not in page
    assert 'name="items-0-quantity"' not in page
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert admin_client.post(f"{CHANGELIST}{order.pk}/delete/").status_code == 403


def _export(client: Client, *orders: Order) -> tuple[Any, list[list[str]]]:
    response = client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [o.pk for o in orders]})
    body = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(body)))


def test_export_csv_has_the_export_command_columns_for_the_selected_orders_oldest_first(admin_client: Client) -> None:
    book = BookFactory(isbn="9780441013593", price=Decimal("9.99"))
    first, second, _not_selected = OrderFactory(total=Decimal("19.98")), OrderFactory(), OrderFactory()
    OrderItemFactory(order=first, book=book, quantity=2)

    response, rows = _export(admin_client, second, first)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert rows[0] == list(COLUMNS)
    assert [row[0] for row in rows[1:]] == [first.number, second.number]
    record = dict(zip(COLUMNS, rows[1], strict=True))
    assert record["customer_email"] == first.user.email
    assert record["items"] == "9780441013593 x 2 @ 9.99"
    assert record["total"] == "19.98"


def test_export_csv_neutralises_cells_a_spreadsheet_would_run(admin_client: Client) -> None:
    order = OrderFactory(user=UserFactory(email="=cmd@example.com"))

    _response, rows = _export(admin_client, order)

    assert rows[1][COLUMNS.index("customer_email")] == "'=cmd@example.com"
    assert rows[1][COLUMNS.index("total")] == "0.00"


def test_order_managers_export_and_run_status_actions(staff_client_for: Callable[..., Client]) -> None:
    client = staff_client_for("Order managers")
    order = OrderFactory()

    response, rows = _export(client, order)
    client.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [order.pk]})

    assert response.status_code == 200
    assert len(rows) == 2
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_status_actions_are_offered_only_with_the_change_permission(make_staff: Callable[..., Any]) -> None:
    from django.contrib.auth.models import Permission

    viewer = make_staff()
    viewer.user_permissions.set(Permission.objects.filter(codename="view_order"))
    client = Client()
    client.force_login(viewer)
    order = OrderFactory()

    page = client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "cancel_orders", "_selected_action": [order.pk], "confirm": "yes"})

    assert 'value="export_csv"' in page
    assert 'value="cancel_orders"' not in page
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_every_status_action_calls_order_transition_with_the_staff_user(
    admin_client: Client, superuser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, str, Any]] = []
    real = orders_admin.order_transition

    def spy(*, order: Order, to: str, by: Any) -> Order:
        calls.append((order.pk, to, by))
        return real(order=order, to=to, by=by)

    monkeypatch.setattr(orders_admin, "order_transition", spy)
    order = OrderFactory()

    for action in ("mark_paid", "mark_shipped", "mark_delivered", "cancel_orders"):
        admin_client.post(CHANGELIST, {"action": action, "_selected_action": [order.pk], "confirm": "yes"})

    assert calls == [
        (order.pk, "paid", superuser),
        (order.pk, "shipped", superuser),
        (order.pk, "delivered", superuser),
        (order.pk, "cancelled", superuser),
    ]
    assert Order.objects.get(pk=order.pk).status == "delivered"  # a delivered order cannot be cancelled


def test_cancel_in_the_admin_restores_stock_once_like_the_api(admin_client: Client) -> None:
    book = BookFactory(stock=4)
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=3)])
    assert Book.objects.get(pk=book.pk).stock == 1

    first = admin_client.post(
        CHANGELIST, {"action": "cancel_orders", "_selected_action": [order.pk], "confirm": "yes"}, follow=True
    )
    again = admin_client.post(
        CHANGELIST, {"action": "cancel_orders", "_selected_action": [order.pk], "confirm": "yes"}, follow=True
    )

    assert Book.objects.get(pk=book.pk).stock == 4
    assert [str(m) for m in get_messages(first.wsgi_request)] == [f"{order.number}: now cancelled."]
    assert [m.level_tag for m in get_messages(again.wsgi_request)] == ["error"]


def test_idempotency_keys_are_listed_read_only_for_superusers(
    admin_client: Client, staff_client_for: Callable[..., Client]
) -> None:
    from orders.models import IdempotencyKey

    order = OrderFactory()
    key = IdempotencyKey.objects.create(
        user=order.user, key="retry-123", fingerprint="0" * 64, order=order, response_status=201
    )

    listing = admin_client.get("/admin/orders/idempotencykey/", {"q": "retry-123"}).content.decode()
    page = admin_client.get(f"/admin/orders/idempotencykey/{key.pk}/change/").content.decode()

    assert order.number in listing
    assert 'name="key"' not in page
    assert admin_client.get("/admin/orders/idempotencykey/add/").status_code == 403
    assert staff_client_for("Order managers").get("/admin/orders/idempotencykey/").status_code == 403


def test_the_order_page_shows_the_payment_and_its_history(admin_client: Client) -> None:
    book = BookFactory(stock=3)
    order = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])
    admin_client.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [order.pk]})

    page = admin_client.get(f"{CHANGELIST}{order.pk}/change/").content.decode()

    assert "Manual (bank transfer, pay in shop)" in page
    assert "awaiting → succeeded by" in page


def test_staff_refund_a_paid_order_from_the_admin_through_the_service(
    admin_client: Client, superuser: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from orders.payments.models import Payment

    book = BookFactory(stock=3)
    paid = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])
    unpaid = order_place(user=UserFactory(), items=[OrderLine(book_id=book.pk, quantity=1)])
    admin_client.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [paid.pk]})

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST, {"action": "refund_payments", "_selected_action": [paid.pk, unpaid.pk]}, follow=True
        )

    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(t.startswith(f"{paid.number}: payment refund") for t in texts), texts
    assert any(f"{unpaid.number}: not refunded" in t for t in texts), texts
    payment = Payment.objects.get(order=paid)
    assert payment.status == Payment.Status.REFUNDED
    assert payment.events.get(to_status="refund_pending").by == superuser
    assert Payment.objects.get(order=unpaid).status == Payment.Status.AWAITING


def test_export_csv_has_shipping_tax_fulfilment_address_and_payment(admin_client: Client, settings: Any) -> None:
    from orders.services import order_ship, order_transition
    from tests.factories import ShippingMethodFactory

    settings.BOOK_TAX_RATE, settings.SHIPPING_TAX_RATE = "7", "19"
    settings.BOOK_TAX_LABEL = settings.SHIPPING_TAX_LABEL = "VAT"
    customer = UserFactory()
    book = BookFactory(price=Decimal("20.00"), stock=5)
    parcel = ShippingMethodFactory(name="Parcel", countries=["DE"], price="4.95")
    address = {
        "name": "=HYPERLINK(1)",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }
    delivered = order_place(
        user=customer,
        items=[OrderLine(book_id=book.pk, quantity=1)],
        shipping_address=address,
        shipping_method_id=parcel.pk,
        billing_address={**address, "name": "Ada Lovelace"},
    )
    order_transition(order=delivered, to=Order.Status.PAID, by=None)
    order_ship(order=delivered, by=None, carrier="DHL", tracking_number="00340434")
    collected = order_place(user=customer, items=[OrderLine(book_id=book.pk, quantity=1)])

    _response, rows = _export(admin_client, delivered, collected)

    first, second = (dict(zip(COLUMNS, row, strict=True)) for row in rows[1:])
    assert {name: first[name] for name in COLUMNS[COLUMNS.index("fulfilment") :]} == {
        "fulfilment": "delivery",
        "shipping_method": "Parcel",
        "shipping": "4.95",
        "tax": "7.00% VAT 1.31;19.00% VAT 0.79",
        # The whole cell starts with the name, so the formula neutraliser applies to it.
        "shipping_address": "'=HYPERLINK(1), Unter den Linden 1, 10117, Berlin, DE",
        "billing_address": "Ada Lovelace, Unter den Linden 1, 10117, Berlin, DE",
        "carrier": "DHL",
        "tracking_number": "00340434",
        "payment_provider": "manual",
        "payment_status": "succeeded",
    }
    assert first["total"] == "24.95"
    assert (second["fulfilment"], second["shipping"], second["shipping_address"], second["tax"]) == (
        "pickup",
        "0.00",
        "",
        "7.00% VAT 1.31",
    )


def _totals(client: Client, params: dict[str, str]) -> tuple[int, Decimal, list[str]]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    totals = response.context["filtered_totals"]
    changelist = response.context["cl"]
    return totals["count"], totals["revenue"], [order.number for order in changelist.result_list]


def test_order_list_counts_and_totals_match_the_orders_for_status_and_day_filters(admin_client: Client) -> None:
    """The count (paginator) and totals of status / whole-day filters come from the rollup, equal to the orders."""
    today = timezone.localdate()
    orders = [
        OrderFactory(status=status, total=Decimal(total))
        for status, total in [("pending", "10.00"), ("paid", "20.00"), ("paid", "5.50"), ("cancelled", "99.00")]
    ]
    Order.objects.filter(pk=orders[2].pk).update(created_at=timezone.now() - timedelta(days=3))
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    cases = [
        ({}, Order.objects.all()),
        ({"status__exact": "paid"}, Order.objects.filter(status="paid")),
        ({"status__exact": "cancelled"}, Order.objects.filter(status="cancelled")),
        # The date filter's own links: local midnights.
        (
            {"created_at__gte": str(midnight), "created_at__lt": str(midnight + timedelta(days=1))},
            Order.objects.filter(created_at__gte=midnight),
        ),
        ({"created_at__lt": str(midnight), "status__exact": "paid"}, Order.objects.filter(pk=orders[2].pk)),
    ]
    for params, expected in cases:
        count, revenue, listed = _totals(admin_client, params)
        assert count == expected.count(), params
        assert revenue == sum((o.total for o in expected.exclude(status="cancelled")), Decimal("0.00")), params
        assert sorted(listed) == sorted(expected.values_list("number", flat=True)), params


def test_order_search_finds_an_exact_number_or_email_by_index(admin_client: Client) -> None:
    ada = UserFactory(email="ada@example.com")
    mine, other = OrderFactory(user=ada), OrderFactory()

    assert _totals(admin_client, {"q": mine.number.lower()})[2] == [mine.number]
    assert _totals(admin_client, {"q": " ADA@example.com "})[2] == [mine.number]
    assert _totals(admin_client, {"q": other.number[:-2]})[2] == []  # a fragment is no search: that would scan
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(CHANGELIST, {"q": mine.number})
    sql = " ".join(q["sql"] for q in ctx.captured_queries if '"orders"' in q["sql"])
    assert "LIKE" not in sql.upper()
