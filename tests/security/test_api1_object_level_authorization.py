"""OWASP API1:2023 Broken object level authorization: ids are guessable, objects are not reachable.

Customers see and act on their own orders only; another user's order answers
exactly like an order that does not exist (404, same body), so ids leak nothing.
"""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from accounts.services import api_key_create
from orders.models import Order
from tests.factories import OrderFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def test_guessing_order_ids_reaches_only_your_own(world, as_principal):
    more = [OrderFactory(user=world.other_customer) for _ in range(3)]
    known = [order.pk for order in [world.order, world.other_order, *more]]
    client = as_principal("customer")

    visible = {}
    # Every id around the real ones (ids are sequential, the obvious thing to guess), and far ones.
    for order_id in [*range(max(1, min(known) - 5), max(known) + 6), 0, 2**31, 2**63 - 1]:
        response = client.get(f"/api/v1/orders/{order_id}")
        visible[order_id] = response.status_code
        if response.status_code == 404:
            assert_envelope(response, 404, "not_found")

    assert {order_id for order_id, status in visible.items() if status == 200} == {world.order.pk}
    assert set(visible.values()) == {200, 404}


def test_another_customers_order_is_indistinguishable_from_a_missing_one(world, as_principal):
    client = as_principal("customer")
    missing_id = Order.objects.order_by("-pk").first().pk + 1000

    for suffix, method in [("", "get"), ("/cancel", "post")]:
        someone_elses = getattr(client, method)(f"/api/v1/orders/{world.other_order.pk}{suffix}")
        missing = getattr(client, method)(f"/api/v1/orders/{missing_id}{suffix}")
        assert someone_elses.status_code == missing.status_code == 404
        assert someone_elses.json() == missing.json()


def test_cancelling_another_customers_order_changes_nothing(world, as_principal):
    response = as_principal("customer").post(f"/api/v1/orders/{world.other_order.pk}/cancel")

    assert_envelope(response, 404, "not_found")
    world.other_order.refresh_from_db()
    assert world.other_order.status == "pending"
    assert world.other_order.status_changes.count() == 0


def test_order_list_ignores_a_customer_asking_for_another_users_orders(world, as_principal):
    response = as_principal("customer").get(f"/api/v1/orders?user={world.other_customer.pk}")

    assert response.status_code == 200
    assert [order["id"] for order in response.json()["results"]] in ([], [world.order.pk])
    assert world.other_order.pk not in [order["id"] for order in response.json()["results"]]


def test_staff_cannot_see_or_revoke_another_staff_members_api_key(world, as_principal):
    colleague = UserFactory(is_staff=True)
    theirs = api_key_create(owner=colleague, name="theirs").api_key
    client = as_principal("staff")

    assert_envelope(client.get(f"/api/v1/api-keys/{theirs.pk}"), 404, "not_found")
    assert_envelope(client.delete(f"/api/v1/api-keys/{theirs.pk}"), 404, "not_found")
    assert theirs.pk not in [key["id"] for key in client.get("/api/v1/api-keys").json()["results"]]
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
