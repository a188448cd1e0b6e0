"""The orders admin: status actions share the API's rules (one code path), read-only records."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Book
from orders.models import Coupon, Order
from tests.factories import BookFactory, CouponFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


def run_action(admin_client, action, *orders):
    response = admin_client.post(
        CHANGELIST,
        {
            "action": action,
            "_selected_action": [str(o["id"] if isinstance(o, dict) else o.pk) for o in orders],
            "confirm": "yes",  # cancelling asks first; the other actions ignore it
        },
        follow=True,
    )
    assert response.status_code == 200
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def place(client, book, quantity):
    response = client.post("/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": quantity}]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def history(order_id):
    return list(Order.objects.get(pk=order_id).status_changes.order_by("at", "id").values_list("to_status", "by_id"))


def test_admin_and_api_cancel_the_same_way(admin_client, superuser, customer_client, user):
    book = BookFactory(stock=10)
    via_admin = place(customer_client, book, 3)
    via_api = place(customer_client, book, 4)
    assert Book.objects.get(pk=book.pk).stock == 3

    notes = run_action(admin_client, "cancel_orders", via_admin)
    response = customer_client.post(f"/api/v1/orders/{via_api['id']}/cancel")

    assert notes == [("success", f"{via_admin['number']}: now cancelled.")]
    assert response.status_code == 200
    assert Book.objects.get(pk=book.pk).stock == 10
    assert history(via_admin["id"]) == [("pending", user.pk), ("cancelled", superuser.pk)]
    assert history(via_api["id"]) == [("pending", user.pk), ("cancelled", user.pk)]


def test_refused_transitions_are_reported_per_order_like_the_api(admin_client, staff_client, customer_client):
    book = BookFactory(stock=10)
    pending = place(customer_client, book, 1)
    shipped = OrderFactory(status="shipped")

    notes = run_action(admin_client, "mark_shipped", pending, shipped)
    api = staff_client.post(f"/api/v1/orders/{pending['id']}/ship")

    assert api.status_code == 409
    assert api.json()["error"]["code"] == "invalid_transition"
    assert [level for level, _ in notes] == ["error", "error"]
    assert notes[0][1].startswith(f"{pending['number']}: not changed.")
    assert api.json()["error"]["message"] in notes[0][1]
    assert Order.objects.get(pk=pending["id"]).status == "pending"
    assert history(pending["id"]) == [("pending", pending["status_history"][0]["by"])]


def test_admin_moves_orders_through_fulfilment_reporting_each(admin_client, superuser):
    first, second = OrderFactory(), OrderFactory()
    assert run_action(admin_client, "mark_paid", first, second) == [
        ("success", f"{first.number}: now paid."),
        ("success", f"{second.number}: now paid."),
    ]
    notes = run_action(admin_client, "mark_shipped", first)
    assert notes == [("success", f"{first.number}: now shipped.")]
    notes = run_action(admin_client, "mark_delivered", first, second)
    assert notes == [
        ("success", f"{first.number}: now delivered."),
        ("error", f"{second.number}: not changed. Order {second.number} cannot move from paid to delivered."),
    ]
    assert Order.objects.get(pk=first.pk).status_changes.filter(by=superuser).count() == 3


def test_admin_cancel_of_a_delivered_order_is_refused_and_stock_untouched(admin_client):
    book = BookFactory(stock=5)
    order = OrderFactory(status="delivered")
    OrderItemFactory(order=order, book=book, quantity=2)
    notes = run_action(admin_client, "cancel_orders", order)
    assert notes[0][0] == "error"
    assert Book.objects.get(pk=book.pk).stock == 5


def test_order_pages_render_with_inlines_and_search(admin_client, customer_client, user):
    book = BookFactory(stock=5, title="Inline title")
    order = place(customer_client, book, 2)
    response = admin_client.get(f"/admin/orders/order/{order['id']}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Inline title" in content
    assert "status history" in content.lower()
    assert admin_client.get(CHANGELIST, {"q": user.email}).status_code == 200
    assert order["number"] in admin_client.get(CHANGELIST, {"q": order["number"]}).content.decode()
    assert admin_client.get(CHANGELIST, {"status__exact": "pending"}).status_code == 200
    assert admin_client.get("/admin/orders/order/add/").status_code == 403


def test_order_changelist_query_count_is_constant(admin_client):
    OrderFactory.create_batch(3)
    with CaptureQueriesContext(connection) as small:
        admin_client.get(CHANGELIST)
    OrderFactory.create_batch(20)
    with CaptureQueriesContext(connection) as large:
        admin_client.get(CHANGELIST)
    assert len(large) == len(small)


def test_coupon_admin_shows_uses_and_validates(admin_client):
    coupon = CouponFactory(code="ADMIN5")
    OrderFactory.create_batch(2, coupon=coupon)
    OrderFactory(coupon=coupon, status="cancelled")
    assert admin_client.get("/admin/orders/coupon/").status_code == 200
    page = admin_client.get(f"/admin/orders/coupon/{coupon.pk}/change/").content.decode()
    assert "ADMIN5" in page
    response = admin_client.post(
        "/admin/orders/coupon/add/", {"code": "admin5", "kind": "percent", "value": "150", "is_active": "on"}
    )
    assert response.status_code == 200  # the form comes back with errors
    page = response.content.decode()
    assert "A coupon with this code exists (codes are case-insensitive)." in page  # the API's words
    assert "cannot take more than 100" in page
    assert Coupon.objects.count() == 1
    assert admin_client.get("/admin/orders/bulkdiscounttier/").status_code == 200
