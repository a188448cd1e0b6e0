"""OWASP API2:2023 Broken authentication: every forged, stale or borrowed credential is a 401.

A 401 is the plain envelope (``not_authenticated``), never a 500, and says
nothing about which part of the credential was wrong.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.services import api_key_create
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def _get_me(authorization: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get(ME)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_jwts_are_rejected(world):
    genuine = str(RefreshToken.for_user(world.customer).access_token)
    header, _payload, signature = genuine.split(".")
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forgeries = {
        "tampered payload": f"{header}.{_b64({**claims, 'user_id': world.staff.pk})}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims, 'user_id': world.staff.pk})}.",
        "other key": jwt.encode({**claims, "user_id": world.staff.pk}, "not-the-signing-key-0123456789abcdef", "HS256"),
        "truncated": genuine[:-5],
        "garbage": "a.b.c",
    }
    for name, token in forgeries.items():
        response = _get_me(f"Bearer {token}")
        assert response.status_code == 401, name
        assert_envelope(response, 401, "not_authenticated")


def test_expired_and_wrong_type_tokens_are_rejected(world):
    expired = AccessToken.for_user(world.customer)
    expired.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=1))
    refresh_as_access = str(RefreshToken.for_user(world.customer))

    assert_envelope(_get_me(f"Bearer {expired}"), 401, "not_authenticated")
    assert_envelope(_get_me(f"Bearer {refresh_as_access}"), 401, "not_authenticated")


def test_tokens_die_with_deactivation_and_password_change(world, api_client):
    assert_envelope(_get_me(f"Bearer {world.deactivated_token}"), 401, "not_authenticated")

    user = UserFactory()
    old = str(RefreshToken.for_user(user).access_token)
    assert _get_me(f"Bearer {old}").status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old}")
    changed = client.post(
        "/api/v1/users/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "An0ther-Long-Passphrase!"},
        format="json",
    )
    assert changed.status_code == 204
    assert_envelope(_get_me(f"Bearer {old}"), 401, "not_authenticated")


def test_api_keys_stop_working_when_revoked_expired_or_owner_demoted(world):
    assert_envelope(_get_me(f"Api-Key {world.revoked_key}"), 401, "not_authenticated")

    expires_at = timezone.now() + timedelta(seconds=1.5)
    expiring = api_key_create(owner=world.staff, name="short", expires_at=expires_at)
    assert _get_me(f"Api-Key {expiring.key}").status_code == 200
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.05)  # the key expires by the clock
    assert_envelope(_get_me(f"Api-Key {expiring.key}"), 401, "not_authenticated")

    assert _get_me(f"Api-Key {world.api_key}").status_code == 200
    world.staff.is_staff = False
    world.staff.save(update_fields=["is_staff"])
    assert_envelope(_get_me(f"Api-Key {world.api_key}"), 401, "not_authenticated")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer  ",
        "Bearer a b",
        "Bearer \u00e9\u00e9",
        "Api-Key",
        "Api-Key bk_short_x",
        "Api-Key bk_AAAAAAAA_" + "x" * 5000,
        "Api-Key bk_AAAAAAAA_abc def",
        "Api-Key \u00e9",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "A" * 10000,
    ],
)
def test_malformed_authorization_headers_are_401_not_500(world, authorization):
    response = _get_me(authorization)
    assert response.status_code == 401, response.content
    assert_envelope(response, 401, "not_authenticated")


def test_login_failures_do_not_reveal_whether_the_account_exists(world, api_client):
    unknown = api_client.post(
        "/api/v1/auth/token", {"email": "nobody@example.com", "password": "x" * 12}, format="json"
    )
    wrong = api_client.post("/api/v1/auth/token", {"email": world.customer.email, "password": "x" * 12}, format="json")
    inactive = api_client.post(
        "/api/v1/auth/token", {"email": world.deactivated.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert unknown.status_code == wrong.status_code == inactive.status_code == 401
    assert unknown.json() == wrong.json() == inactive.json()


def test_password_guessing_is_rate_limited_per_address(world, api_client, settings):
    settings.AUTH_RATE_LIMIT = "5/minute"
    statuses = [
        api_client.post(
            "/api/v1/auth/token", {"email": world.customer.email, "password": f"guess-{n}"}, format="json"
        ).status_code
        for n in range(7)
    ]
    assert statuses == [401] * 5 + [429, 429]
    correct = api_client.post(
        "/api/v1/auth/token", {"email": world.customer.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_envelope(correct, 429, "throttled")
    assert int(correct["Retry-After"]) > 0
