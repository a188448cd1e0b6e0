"""Smaller hardening (issue 20, point 20).

- The admin login and the API login share one attempt budget per address;
  before, each had its own, doubling an attacker's guesses.
- IPv6 clients are counted per /64: one subscriber holds a whole /64, and
  rotating through its addresses reset every per-address limit.
- Responses to authenticated requests carry ``Cache-Control: no-store``.
- Deactivating a user revokes their refresh tokens and API keys, so a later
  reactivation does not bring old sessions back.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import ApiKey
from accounts.services import api_key_create, user_deactivate
from accounts.throttling import rate_limit_subject
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api/v1/auth/token"


@pytest.fixture
def _three_attempts(settings: Any) -> None:
    settings.AUTH_RATE_LIMIT = "3/minute"
    settings.TRUSTED_PROXY_COUNT = 0


WRONG_PASSWORD = "wrong-password"


def _admin_login(address: str, password: str = WRONG_PASSWORD) -> int:
    return (
        Client().post(ADMIN_LOGIN, {"username": "a@example.com", "password": password}, REMOTE_ADDR=address).status_code
    )


def _api_login(address: str, password: str = WRONG_PASSWORD) -> int:
    body = {"email": "a@example.com", "password": password}
    return APIClient().post(API_LOGIN, body, format="json", REMOTE_ADDR=address).status_code


# --- one login budget per address -----------------------------------------------------------------


@pytest.mark.usefixtures("_three_attempts")
def test_admin_and_api_login_share_one_budget_per_address() -> None:
    address = "203.0.113.7"
    assert [_api_login(address), _api_login(address), _admin_login(address)] == [401, 401, 200]

    # The budget is spent, whichever door is tried next.
    assert _admin_login(address) == 429
    assert _api_login(address) == 429
    # Another address has its own budget.
    assert _admin_login("203.0.113.8") == 200


@pytest.mark.usefixtures("_three_attempts")
def test_admin_attempts_use_up_the_api_login_budget_too() -> None:
    address = "203.0.113.9"
    assert [_admin_login(address) for _ in range(3)] == [200, 200, 200]
    assert _api_login(address) == 429


# --- IPv6 per /64 -------------------------------------------------------------------------------


@pytest.mark.usefixtures("_three_attempts")
@pytest.mark.parametrize("login", [_api_login, _admin_login], ids=["api", "admin"])
def test_ipv6_clients_are_limited_per_64_not_per_address(login: Any) -> None:
    rotating = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:fffe"]
    assert all(login(address) != 429 for address in rotating)

    assert login("2001:db8:1:2:abcd::9") == 429  # a fourth address of the same /64
    assert login("2001:db8:1:3::1") != 429  # the next /64 is someone else


def test_rate_limit_subjects() -> None:
    assert rate_limit_subject("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert rate_limit_subject("::ffff:192.0.2.1") == "192.0.2.1"
    assert rate_limit_subject("192.0.2.1") == "192.0.2.1"
    assert rate_limit_subject("not-an-address") == "not-an-address"


# --- Cache-Control: no-store ------------------------------------------------------------------------


def test_authenticated_api_responses_carry_no_store(user: Any, staff_user: Any) -> None:
    jwt = APIClient()
    jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(owner=staff_user, name='x').key}")

    responses = {
        "me": jwt.get("/api/v1/users/me"),
        "orders": jwt.get("/api/v1/orders"),
        "books as customer": jwt.get("/api/v1/books"),
        "refused": jwt.get("/api/v1/coupons"),
        "books with a key": key.get("/api/v1/books"),
    }

    assert {name: response["Cache-Control"] for name, response in responses.items()} == dict.fromkeys(
        responses, "no-store"
    )
    assert "no-store" not in APIClient().get("/api/v1/books").get("Cache-Control", "")


# --- deactivation ends sessions ---------------------------------------------------------------------


def _credentials(user: Any) -> tuple[str, str, str]:
    refresh = RefreshToken.for_user(user)
    return str(refresh.access_token), str(refresh), api_key_create(owner=user, name="integration").key


def _old_credentials_work(access: str, refresh: str, key: str) -> dict[str, int]:
    bearer, api_key = APIClient(), APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    api_key.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return {
        "access": bearer.get("/api/v1/users/me").status_code,
        "refresh": APIClient().post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json").status_code,
        "api_key": api_key.get("/api/v1/users/me").status_code,
    }


def _reactivate(user: Any) -> None:
    user.is_active = True
    user.save(update_fields=["is_active"])


def test_reactivation_after_deactivation_by_the_service_revives_nothing() -> None:
    staff = UserFactory(is_staff=True)
    credentials = _credentials(staff)
    assert _old_credentials_work(*credentials)["api_key"] == 200

    user_deactivate(user=staff)
    _reactivate(staff)

    assert _old_credentials_work(*credentials) == {"access": 401, "refresh": 401, "api_key": 401}
    assert not ApiKey.objects.filter(owner=staff, revoked_at__isnull=True).exists()
    # Signing in again works.
    login = APIClient().post(API_LOGIN, {"email": staff.email, "password": DEFAULT_PASSWORD}, format="json")
    assert login.status_code == 200


def test_reactivation_after_deactivation_in_the_admin_revives_nothing(admin_client: Client) -> None:
    staff = UserFactory(is_staff=True)
    credentials = _credentials(staff)
    url = f"/admin/accounts/user/{staff.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data |= {"groups": [], "user_permissions": []}
    data["date_joined_0"], data["date_joined_1"] = staff.date_joined.strftime("%Y-%m-%d"), "00:00:00"
    del data["is_active"]  # the box unticked

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    staff.refresh_from_db()
    assert not staff.is_active
    _reactivate(staff)
    assert _old_credentials_work(*credentials) == {"access": 401, "refresh": 401, "api_key": 401}


def test_reactivation_does_not_revive_admin_sessions() -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(staff)
    assert browser.get("/admin/").status_code == 200

    user_deactivate(user=staff)
    _reactivate(staff)

    assert browser.get("/admin/").status_code == 302  # back to the login page
    fresh = Client()
    fresh.force_login(staff)
    assert fresh.get("/admin/").status_code == 200
