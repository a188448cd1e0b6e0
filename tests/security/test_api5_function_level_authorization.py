"""OWASP API5:2023 Broken function level authorization: management functions are staff-only.

Customers can read the catalog and act on their own orders, nothing more:
catalog writes, store settings (coupons, tiers), fulfilment moves, API keys
and the admin all refuse them, and a refused call changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from catalog.models import Author, Book, Genre
from orders.models import BulkDiscountTier, Coupon, Order
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def test_customers_cannot_manage_the_catalog(world, as_principal):
    client = as_principal("customer")
    book = {"isbn": "9780441013593", "title": "Free", "price": "0.00", "author_ids": [world.author.pk]}
    attempts = [
        client.post("/api/v1/books", book, format="json"),
        client.put(f"/api/v1/books/{world.book.pk}", book, format="json"),
        client.delete(f"/api/v1/books/{world.book.pk}"),
        client.post("/api/v1/authors", {"name": "Me"}, format="json"),
        client.delete(f"/api/v1/authors/{world.author.pk}"),
        client.patch(f"/api/v1/genres/{world.genre.pk}", {"name": "Mine"}, format="json"),
    ]
    for response in attempts:
        assert_envelope(response, 403, "permission_denied")
    assert Book.objects.count() == 1
    assert Book.objects.get().price == Decimal("10.00")
    assert Author.objects.filter(pk=world.author.pk).exists()
    assert Genre.objects.get(pk=world.genre.pk).name == world.genre.name


def test_customers_cannot_see_or_change_store_pricing(world, as_principal):
    client = as_principal("customer")
    for response in [
        client.get("/api/v1/coupons"),
        client.get(f"/api/v1/coupons/{world.coupon.pk}"),
        client.post("/api/v1/coupons", {"code": "FREE", "kind": "percent", "value": "100"}, format="json"),
        client.patch(f"/api/v1/discount-tiers/{world.tier.pk}", {"percent": "99"}, format="json"),
        client.get("/api/v1/discount-tiers"),
    ]:
        assert_envelope(response, 403, "permission_denied")
    assert not Coupon.objects.filter(code="FREE").exists()
    assert BulkDiscountTier.objects.get(pk=world.tier.pk).percent == world.tier.percent


def test_customers_cannot_move_their_own_orders_through_fulfilment(world, as_principal):
    client = as_principal("customer")
    for action in ("pay", "ship", "deliver"):
        assert_envelope(client.post(f"/api/v1/orders/{world.order.pk}/{action}"), 403, "permission_denied")
    assert Order.objects.get(pk=world.order.pk).status == "pending"
    # What they may do: cancel their own.
    assert client.post(f"/api/v1/orders/{world.order.pk}/cancel").status_code == 200


def test_customers_cannot_issue_api_keys_or_enter_the_admin(world, as_principal):
    client = as_principal("customer")
    assert_envelope(client.post("/api/v1/api-keys", {"name": "mine"}, format="json"), 403, "permission_denied")
    assert_envelope(client.get("/api/v1/api-keys"), 403, "permission_denied")

    browser = Client()
    response = browser.post(
        "/admin/login/?next=/admin/", {"username": world.customer.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200  # the form again: not a staff account
    assert browser.get("/admin/").status_code == 302
    assert browser.get("/admin/catalog/book/").status_code == 302
