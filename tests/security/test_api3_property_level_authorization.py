"""OWASP API3:2023 Broken object property level authorization.

Mass assignment: fields a caller may not set (``is_staff``, ``price``,
``stock``, ``status``, totals, owners) are ignored or refused, never stored.
Excessive exposure: responses carry no secrets (password hashes, key digests).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import User
from catalog.models import Book
from orders.models import Order
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

SECRET_FIELDS = {"password", "digest", "is_superuser", "groups", "user_permissions"}


def test_registration_cannot_make_staff_or_superusers(api_client):
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "email": "mallory@example.com",
            "password": "Quite-L0ng-Passphrase!",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "date_joined": "2000-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    user = User.objects.get(email="mallory@example.com")
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert user.date_joined.year > 2000
    assert not SECRET_FIELDS & set(response.json())


def test_profile_update_refuses_protected_fields(world, as_principal):
    first_name = world.customer.first_name
    response = as_principal("customer").patch(
        "/api/v1/users/me",
        {"first_name": "Eve", "is_staff": True, "is_superuser": True, "email": "admin@example.com", "id": 1},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"is_staff", "is_superuser", "email", "id"}
    world.customer.refresh_from_db()
    assert world.customer.first_name == first_name
    assert (world.customer.is_staff, world.customer.is_superuser) == (False, False)
    assert world.customer.email != "admin@example.com"


def test_order_placement_ignores_client_prices_totals_status_and_owner(world, as_principal):
    book = BookFactory(price=Decimal("25.00"), stock=5)
    response = as_principal("customer").post(
        "/api/v1/orders",
        {
            "items": [{"book_id": book.pk, "quantity": 2, "unit_price": "0.01", "line_total": "0.02", "price": "0"}],
            "subtotal": "0.02",
            "total": "0.00",
            "discount_total": "50.00",
            "status": "delivered",
            "user": world.other_customer.pk,
            "user_id": world.other_customer.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.user_id == world.customer.pk
    assert order.status == "pending"
    assert order.total == order.subtotal == Decimal("50.00")
    assert [(i.unit_price, i.quantity) for i in order.items.all()] == [(Decimal("25.00"), 2)]
    book.refresh_from_db()
    assert book.stock == 3


def test_customers_cannot_write_prices_or_stock(world, as_principal):
    response = as_principal("customer").patch(
        f"/api/v1/books/{world.book.pk}", {"price": "0.01", "stock": 9999}, format="json"
    )
    assert response.status_code == 403
    book = Book.objects.get(pk=world.book.pk)
    assert (book.price, book.stock) == (world.book.price, world.book.stock)


def test_responses_never_expose_secrets(world, as_principal):
    staff = as_principal("staff")
    me = staff.get("/api/v1/users/me").json()
    keys = staff.get("/api/v1/api-keys").json()["results"]
    order = as_principal("customer").get(f"/api/v1/orders/{world.order.pk}").json()

    assert not SECRET_FIELDS & set(me)
    assert keys
    for key in keys:
        assert "key" not in key
        assert not SECRET_FIELDS & set(key)
        assert world.api_key not in str(key)
    assert "email" not in str(order.get("status_history"))
