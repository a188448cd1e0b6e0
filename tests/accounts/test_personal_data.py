"""Personal data: the caller's export, closing the account (erasure), and the admin's erasure on request."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.test import Client

from accounts.models import Address, User
from accounts.personal_data import erased_email, user_erase
from accounts.services import api_key_create
from catalog.models import Book
from notifications.models import Email
from orders.models import IdempotencyKey, Order
from tests.accounts.conftest import bearer
from tests.factories import DEFAULT_PASSWORD, BookFactory, ShippingMethodFactory, UserFactory

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/users/me/export"
ME = "/api/v1/users/me"
BERLIN = {
    "name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "phone": "+49 30 1234",
}


@pytest.fixture
def shopper(db: Any, obtain_tokens: Any) -> dict[str, Any]:
    """A customer with a saved address and a pending order delivered there (placed through the API)."""
    user = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    tokens = obtain_tokens(user)
    client = bearer(tokens["access"])
    address = client.post("/api/v1/users/me/addresses", BERLIN)
    assert address.status_code == 201, address.content
    book = BookFactory(stock=5, price="12.00")
    method = ShippingMethodFactory(countries=["DE"])
    placed = client.post(
        "/api/v1/orders",
        {
            "items": [{"book_id": book.pk, "quantity": 2}],
            "shipping_address": {"address_id": address.json()["id"]},
            "shipping_method_id": method.pk,
        },
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert placed.status_code == 201, placed.content
    return {"user": user, "tokens": tokens, "client": client, "book": book, "order_id": placed.json()["id"]}


# --- Export ---------------------------------------------------------------------------


def test_export_holds_everything_the_shop_has_on_the_caller(shopper):
    someone_else = UserFactory(email="bob@example.com")
    Address.objects.create(user=someone_else, name="Bob", line1="Elsewhere 2", city="Paris", country="FR")

    response = shopper["client"].get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = response.json()
    assert data["account"]["email"] == "ada@example.com"
    assert (data["account"]["first_name"], data["account"]["last_name"]) == ("Ada", "Lovelace")
    [address] = data["addresses"]
    assert (address["line1"], address["phone"]) == ("Unter den Linden 1", "+49 30 1234")
    [order] = data["orders"]
    assert order["id"] == shopper["order_id"]
    assert order["shipping_address"]["line1"] == "Unter den Linden 1"
    assert [(item["quantity"], item["unit_price"]) for item in order["items"]] == [(2, "12.00")]
    assert [change["to_status"] for change in order["history"]] == ["pending"]
    assert order["payment"]["provider"] == "manual"
    assert "client_secret" not in order["payment"]
    assert [email["template"] for email in data["emails"]] == ["orders/email/order_placed"]
    assert len(data["sessions"]) == 1
    assert data["sessions"][0]["revoked"] is False
    assert data["api_keys"] == []
    assert "bob@example.com" not in response.content.decode()
    assert "Paris" not in response.content.decode()


def test_export_shows_api_keys_without_their_secret(staff_user, obtain_tokens):
    created = api_key_create(owner=staff_user, name="warehouse")
    response = bearer(obtain_tokens(staff_user)["access"]).get(EXPORT)
    [key] = response.json()["api_keys"]
    assert (key["name"], key["prefix"]) == ("warehouse", created.api_key.prefix)
    assert "digest" not in key
    body = response.content.decode()
    assert created.key not in body
    assert created.api_key.digest not in body


def test_export_needs_a_signed_in_caller(api_client):
    assert api_client.get(EXPORT).status_code == 401


# --- Closing the account -----------------------------------------------------------------


def _close(client: Any, password: str = DEFAULT_PASSWORD) -> Any:
    return client.delete(ME, {"password": password}, format="json")


def test_closing_the_account_erases_personal_data_and_keeps_orders_anonymised(shopper, api_client):
    user, book = shopper["user"], shopper["book"]

    response = _close(shopper["client"])

    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.email == erased_email(user)
    assert user.email.endswith("@erased.invalid")
    assert (user.first_name, user.last_name, user.is_active) == ("", "", False)
    assert not user.has_usable_password()
    assert not Address.objects.filter(user=user).exists()
    order = Order.objects.get(pk=shopper["order_id"])
    assert order.user_id == user.pk  # the order stays, for the accounts
    assert order.status == "cancelled"  # it was pending: cancelled, its stock back
    assert order.status_changes.filter(to_status="cancelled").exists()
    assert Book.objects.get(pk=book.pk).stock == 5
    assert order.shipping_address["country"] == "DE"
    assert {value for name, value in order.shipping_address.items() if name != "country"} == {""}
    assert not IdempotencyKey.objects.filter(user=user).exists()
    assert not Email.objects.filter(to__iexact="ada@example.com").exists()
    assert not Email.objects.filter(body_text__contains="Lovelace").exists()
    assert not Email.objects.filter(to=user.email, state__in=["queued", "sending"]).exists()
    # Every session ends, and the old credentials open nothing.
    assert shopper["client"].get(ME).status_code == 401
    refresh = api_client.post("/api/v1/auth/token/refresh", {"refresh": shopper["tokens"]["refresh"]})
    assert refresh.status_code == 401
    login = api_client.post("/api/v1/auth/token", {"email": "ada@example.com", "password": DEFAULT_PASSWORD})
    assert login.status_code == 401
    # The address is free again: the person may open a new account with it.
    registered = api_client.post("/api/v1/auth/register", {"email": "ada@example.com", "password": "Fresh-Start-2026!"})
    assert registered.status_code == 201


def test_a_wrong_password_closes_nothing(shopper):
    response = _close(shopper["client"], password="not-my-password")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["password"]
    shopper["user"].refresh_from_db()
    assert shopper["user"].is_active
    assert shopper["user"].email == "ada@example.com"


def test_an_order_being_fulfilled_refuses_the_erasure_and_nothing_changes(shopper):
    Order.objects.filter(pk=shopper["order_id"]).update(status="paid")

    response = _close(shopper["client"])

    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "conflict"
    assert body["details"]["orders"] == [Order.objects.get(pk=shopper["order_id"]).number]
    shopper["user"].refresh_from_db()
    assert shopper["user"].is_active
    assert shopper["user"].first_name == "Ada"
    assert Address.objects.filter(user=shopper["user"]).count() == 1
    assert shopper["client"].get(ME).status_code == 200


def test_delivered_orders_stay_delivered_with_the_address_anonymised(shopper):
    Order.objects.filter(pk=shopper["order_id"]).update(status="delivered")
    assert _close(shopper["client"]).status_code == 204
    order = Order.objects.get(pk=shopper["order_id"])
    assert order.status == "delivered"
    assert order.shipping_address["name"] == ""
    assert order.shipping_address["country"] == "DE"


def test_an_api_key_cannot_close_its_owners_account(api_client, staff_user):
    key = api_key_create(owner=staff_user, name="integration").key
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api_client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 403
    staff_user.refresh_from_db()
    assert staff_user.is_active


def test_closing_a_staff_account_revokes_its_keys_and_rights(staff_user, obtain_tokens, api_client):
    key = api_key_create(owner=staff_user, name="integration").key
    assert _close(bearer(obtain_tokens(staff_user)["access"])).status_code == 204
    staff_user.refresh_from_db()
    assert not (staff_user.is_staff)
    assert not (staff_user.is_superuser)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api_client.get(ME).status_code == 401


def test_closing_is_rate_limited_like_the_auth_endpoints(shopper, settings):
    settings.AUTH_RATE_LIMIT = "2/minute"
    cache.clear()  # the fixture's sign-in counted too
    statuses = [_close(shopper["client"], password="guess").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_erasing_twice_changes_nothing_more(shopper):
    user = shopper["user"]
    user_erase(user=user, by=None)
    first = User.objects.filter(pk=user.pk).values().get()
    user_erase(user=user, by=None)
    assert User.objects.filter(pk=user.pk).values().get()["email"] == first["email"]


# --- The admin ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(db: Any) -> tuple[Client, Any]:
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    return client, superuser


CHANGELIST = "/admin/accounts/user/"


def test_the_admin_erases_after_a_confirmation_and_logs_it(admin_client, shopper):
    client, superuser = admin_client
    user = shopper["user"]
    action = {"action": "erase_personal_data", ACTION_CHECKBOX_NAME: [str(user.pk)]}

    confirmation = client.post(CHANGELIST, action)

    assert confirmation.status_code == 200
    assert b"erase-personal-data-confirmation" in confirmation.content
    assert b"ada@example.com" in confirmation.content
    user.refresh_from_db()
    assert user.is_active  # nothing happens before the confirmation

    done = client.post(CHANGELIST, {**action, "confirm": "yes"}, follow=True)

    assert done.status_code == 200
    assert b"Erased the personal data of 1 user(s)." in done.content
    user.refresh_from_db()
    assert user.email == erased_email(user)
    assert not user.is_active
    [entry] = LogEntry.objects.filter(object_id=str(user.pk), user=superuser)
    assert "Personal data erased" in entry.get_change_message()


def test_the_admin_skips_users_with_orders_in_fulfilment_and_itself(admin_client, shopper):
    client, superuser = admin_client
    Order.objects.filter(pk=shopper["order_id"]).update(status="shipped")
    action = {
        "action": "erase_personal_data",
        ACTION_CHECKBOX_NAME: [str(shopper["user"].pk), str(superuser.pk)],
        "confirm": "yes",
    }
    done = client.post(CHANGELIST, action, follow=True)
    content = done.content.decode()
    assert "ada@example.com was not erased" in content.lower()
    assert "You cannot erase your own account here." in content
    shopper["user"].refresh_from_db()
    superuser.refresh_from_db()
    assert shopper["user"].is_active
    assert superuser.is_active
    assert not LogEntry.objects.filter(change_message__contains="Personal data erased").exists()


def test_staff_without_the_change_permission_do_not_get_the_action(db, shopper):
    viewer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client = Client()
    client.force_login(viewer)
    action = {"action": "erase_personal_data", ACTION_CHECKBOX_NAME: [str(shopper["user"].pk)], "confirm": "yes"}
    client.post(CHANGELIST, action)
    shopper["user"].refresh_from_db()
    assert shopper["user"].is_active
