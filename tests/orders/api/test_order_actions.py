"""POST /api/v1/orders/{id}/cancel|pay|ship|deliver (API.md, "Status changes")."""

from __future__ import annotations

import pytest

from catalog.models import Book
from orders.models import Order
from tests.factories import BookFactory, CouponFactory, OrderFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def place(client, *pairs, coupon_code=None):
    data = {"items": [{"book_id": b, "quantity": q} for b, q in pairs]}
    if coupon_code:
        data["coupon_code"] = coupon_code
    response = client.post(URL, data, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def act(client, order_id, name):
    return client.post(f"{URL}/{order_id}/{name}")


def test_staff_moves_order_through_fulfilment(customer_client, staff_client, user, staff_user):
    book = BookFactory(stock=2)
    order = place(customer_client, (book.pk, 1))
    for name, status in (("pay", "paid"), ("ship", "shipped"), ("deliver", "delivered")):
        response = act(staff_client, order["id"], name)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    history = response.json()["status_history"]
    assert [(h["status"], h["by"]) for h in history] == [
        ("pending", user.pk),
        ("paid", staff_user.pk),
        ("shipped", staff_user.pk),
        ("delivered", staff_user.pk),
    ]
    assert Book.objects.get(pk=book.pk).stock == 1


def test_owner_cancels_restoring_stock_and_coupon(customer_client, user):
    a = BookFactory(stock=3)
    b = BookFactory(stock=1)
    coupon = CouponFactory(code="ONE", max_uses=1)
    order = place(customer_client, (a.pk, 2), (b.pk, 1), coupon_code="ONE")
    assert_envelope(
        customer_client.post(URL, {"items": [{"book_id": a.pk, "quantity": 1}], "coupon_code": "ONE"}, format="json"),
        400,
        "invalid_coupon",
    )

    response = act(customer_client, order["id"], "cancel")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "cancelled"
    assert [(h["status"], h["by"]) for h in data["status_history"]] == [("pending", user.pk), ("cancelled", user.pk)]
    assert [Book.objects.get(pk=x.pk).stock for x in (a, b)] == [3, 1]
    again = place(customer_client, (a.pk, 1), coupon_code="ONE")
    assert again["coupon_code"] == coupon.code


def test_staff_cancels_a_paid_order(customer_client, staff_client):
    book = BookFactory(stock=2)
    order = place(customer_client, (book.pk, 2))
    assert act(staff_client, order["id"], "pay").status_code == 200
    assert act(staff_client, order["id"], "cancel").json()["status"] == "cancelled"
    assert Book.objects.get(pk=book.pk).stock == 2


@pytest.mark.parametrize(
    ("status", "name"),
    [
        ("pending", "ship"),
        ("pending", "deliver"),
        ("paid", "pay"),
        ("paid", "deliver"),
        ("shipped", "cancel"),
        ("shipped", "pay"),
        ("delivered", "cancel"),
        ("delivered", "ship"),
        ("cancelled", "cancel"),
        ("cancelled", "pay"),
    ],
)
def test_moves_outside_the_table_are_409(staff_client, status, name):
    order = OrderFactory(status=status)
    error = assert_envelope(act(staff_client, order.pk, name), 409, "invalid_transition")
    assert status in error["message"]
    order.refresh_from_db()
    assert order.status == status
    assert not order.status_changes.exists()


def test_cancelling_twice_restores_stock_once(customer_client):
    book = BookFactory(stock=5)
    order = place(customer_client, (book.pk, 4))
    assert act(customer_client, order["id"], "cancel").status_code == 200
    assert_envelope(act(customer_client, order["id"], "cancel"), 409, "invalid_transition")
    assert Book.objects.get(pk=book.pk).stock == 5


@pytest.mark.parametrize("name", ["pay", "ship", "deliver"])
def test_customer_may_not_pay_ship_or_deliver_even_own_order(customer_client, user, name):
    own = OrderFactory(user=user, status="pending" if name == "pay" else ("paid" if name == "ship" else "shipped"))
    assert_envelope(act(customer_client, own.pk, name), 403, "permission_denied")
    own.refresh_from_db()
    assert not own.status_changes.exists()


def test_customer_cannot_cancel_someone_elses_order(customer_client):
    other = OrderFactory(user=UserFactory())
    assert_envelope(act(customer_client, other.pk, "cancel"), 404, "not_found")
    other.refresh_from_db()
    assert other.status == Order.Status.PENDING


def test_anonymous_is_401(api_client):
    order = OrderFactory()
    for name in ("cancel", "pay", "ship", "deliver"):
        assert_envelope(act(api_client, order.pk, name), 401, "not_authenticated")


def test_unknown_order_is_404(staff_client):
    assert_envelope(act(staff_client, 999999, "pay"), 404, "not_found")


def test_actions_need_post(staff_client):
    order = OrderFactory()
    assert_envelope(staff_client.get(f"{URL}/{order.pk}/pay"), 405, "method_not_allowed")
