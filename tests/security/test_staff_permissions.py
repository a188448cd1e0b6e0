"""Staff act through the API with the Django permissions they hold in the admin (issue 20, point 15).

The attack: a staff member holding no permission at all, refused everything in
the admin, created a 100 % coupon, set a book's price to 0.01, marked an order
paid and listed every customer's orders through the API, whose checks looked at
``is_staff`` only. The permission matrix (test_permission_matrix.py) covers
every operation for each group; these tests replay the attack and hold the API
against the admin's own permission checks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.services import api_key_create
from catalog.models import Book
from orders.exceptions import TransitionNotPermitted
from orders.models import BulkDiscountTier, Coupon, Order
from orders.services import order_transition
from tests.factories import BookFactory
from tests.helpers import assert_envelope
from tests.security.conftest import World

pytestmark = pytest.mark.django_db


def _key_client(owner: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(owner=owner, name='integration').key}")
    return client


@pytest.mark.parametrize("credential", ["jwt", "api_key"])
def test_staff_without_permissions_cannot_replay_the_attack(world: World, credential: str) -> None:
    client = world.client("staff_no_perms") if credential == "jwt" else _key_client(world.staff_no_perms)
    coupons_before = Coupon.objects.count()

    coupon = client.post("/api/v1/coupons", {"code": "ALLFREE", "kind": "percent", "value": "100"}, format="json")
    price = client.patch(f"/api/v1/books/{world.book.pk}", {"price": "0.01"}, format="json")
    paid = client.post(f"/api/v1/orders/{world.other_order.pk}/pay")
    orders = client.get("/api/v1/orders")

    assert_envelope(coupon, 403, "permission_denied")
    assert "orders.add_coupon" in coupon.json()["error"]["message"]
    assert_envelope(price, 403, "permission_denied")
    assert_envelope(paid, 403, "permission_denied")
    assert orders.status_code == 200
    assert orders.json()["count"] == 0  # their own orders only, like any customer
    assert Coupon.objects.count() == coupons_before
    world.book.refresh_from_db()
    assert world.book.price != Decimal("0.01")
    assert Order.objects.get(pk=world.other_order.pk).status == Order.Status.PENDING


def test_staff_without_permissions_see_only_active_books_and_cannot_read_coupons(world: World) -> None:
    hidden = BookFactory(is_active=False)
    client = world.client("staff_no_perms")

    assert client.get(f"/api/v1/books/{hidden.pk}").status_code == 404
    assert hidden.pk not in {book["id"] for book in client.get("/api/v1/books?page_size=100").json()["results"]}
    assert_envelope(client.get("/api/v1/coupons"), 403, "permission_denied")
    assert_envelope(client.get("/api/v1/discount-tiers"), 403, "permission_denied")
    # A catalog manager may view books, so sees the hidden one.
    assert world.client("catalog_manager").get(f"/api/v1/books/{hidden.pk}").status_code == 200


def test_an_api_key_acts_with_its_owners_permissions(world: World) -> None:
    client = _key_client(world.catalog_manager)

    assert client.patch(f"/api/v1/books/{world.book.pk}", {"price": "11.00"}, format="json").status_code == 200
    assert_envelope(client.post(f"/api/v1/orders/{world.order.pk}/pay"), 403, "permission_denied")
    assert_envelope(client.get("/api/v1/coupons"), 403, "permission_denied")


def test_the_order_service_asks_for_the_admins_permission(world: World) -> None:
    with pytest.raises(TransitionNotPermitted):
        order_transition(order=world.other_order, to=Order.Status.PAID, by=world.staff_no_perms)
    with pytest.raises(TransitionNotPermitted):
        order_transition(order=world.other_order, to=Order.Status.CANCELLED, by=world.catalog_manager)
    assert order_transition(order=world.other_order, to=Order.Status.PAID, by=world.order_manager).status == "paid"


# --- the same refusals as the admin ------------------------------------------------------------------------------


def _admin_allows(user: Any, model: type, action: str) -> bool:
    """What the admin itself answers for ``user``: its site gate and the model admin's permission check."""
    request = RequestFactory().get("/admin/")
    request.user = user
    model_admin = admin.site._registry[model]
    if action == "mark_paid":
        return admin.site.has_permission(request) and "mark_paid" in model_admin.get_actions(request)
    return admin.site.has_permission(request) and getattr(model_admin, f"has_{action}_permission")(request)


def _api_allows(world: World, principal: str, model: type, action: str) -> bool:
    client = world.client(principal)
    hidden = BookFactory(is_active=False)
    requests = {
        (Book, "view"): lambda: client.get(f"/api/v1/books/{hidden.pk}"),
        (Book, "add"): lambda: client.post(
            "/api/v1/books",
            {"isbn": "9780441013593", "title": "Dune", "price": "9.99", "stock": 1, "author_ids": [world.author.pk]},
            format="json",
        ),
        (Book, "change"): lambda: client.patch(f"/api/v1/books/{world.book.pk}", {"price": "0.01"}, format="json"),
        (Book, "delete"): lambda: client.delete(f"/api/v1/books/{BookFactory().pk}"),
        (Coupon, "view"): lambda: client.get("/api/v1/coupons"),
        (Coupon, "add"): lambda: client.post(
            "/api/v1/coupons", {"code": "FREE100", "kind": "percent", "value": "100"}, format="json"
        ),
        (BulkDiscountTier, "change"): lambda: client.patch(
            f"/api/v1/discount-tiers/{world.tier.pk}", {"percent": "90"}, format="json"
        ),
        (Order, "view"): lambda: client.get(f"/api/v1/orders/{world.other_order.pk}"),
        (Order, "mark_paid"): lambda: client.post(f"/api/v1/orders/{world.other_order.pk}/pay"),
    }
    response = requests[(model, action)]()
    assert response.status_code in {200, 201, 204, 403, 404}, response.content
    return response.status_code < 300


CHECKS = [
    (Book, "view"),
    (Book, "add"),
    (Book, "change"),
    (Book, "delete"),
    (Coupon, "view"),
    (Coupon, "add"),
    (BulkDiscountTier, "change"),
    (Order, "view"),
    (Order, "mark_paid"),
]


@pytest.mark.parametrize("principal", ["staff_no_perms", "catalog_manager", "order_manager", "staff"])
def test_the_api_refuses_staff_exactly_where_the_admin_does(world: World, principal: str) -> None:
    user = getattr(world, principal)
    admin_says = {f"{model.__name__}.{action}": _admin_allows(user, model, action) for model, action in CHECKS}
    api_says = {f"{model.__name__}.{action}": _api_allows(world, principal, model, action) for model, action in CHECKS}

    assert api_says == admin_says
    assert any(admin_says.values()) == (principal != "staff_no_perms")
