"""Logout that logs out: the session's access token is denied at once, and sign out everywhere."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from accounts.revocation import access_token_deny, access_token_is_denied
from accounts.services import api_key_create
from tests.accounts.conftest import bearer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ME = "/api/v1/users/me"


def test_logout_ends_the_access_token_it_was_sent_with(obtain_tokens, user):
    tokens = obtain_tokens(user)
    client = bearer(tokens["access"])
    assert client.get(ME).status_code == 200

    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204

    response = bearer(tokens["access"]).get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_logout_leaves_the_users_other_sessions_working(obtain_tokens, user):
    phone, laptop = obtain_tokens(user), obtain_tokens(user)
    assert bearer(phone["access"]).post(LOGOUT, {"refresh": phone["refresh"]}).status_code == 204
    assert bearer(laptop["access"]).get(ME).status_code == 200


def test_a_refused_logout_denies_nothing(obtain_tokens, user):
    tokens = obtain_tokens(user)
    other = obtain_tokens(UserFactory())
    assert bearer(tokens["access"]).post(LOGOUT, {"refresh": other["refresh"]}).status_code == 400
    assert bearer(tokens["access"]).get(ME).status_code == 200


def test_the_denial_lasts_until_the_token_would_expire_anyway():
    token = AccessToken()
    token["jti"] = "abc"
    now = time.time()
    token["exp"] = int(now) + 30
    assert access_token_deny(token=token, now=now)
    assert access_token_is_denied(jti="abc")
    expired = AccessToken()
    expired["jti"] = "old"
    expired["exp"] = int(now) - 1
    assert access_token_deny(token=expired, now=now)
    assert not access_token_is_denied(jti="old")  # nothing stored for a token that is dead already


def test_logout_with_an_api_key_revokes_the_refresh_token_and_leaves_the_key(api_client, staff_user):
    key = api_key_create(owner=staff_user, name="integration").key
    tokens = api_client.post(
        "/api/v1/auth/token", {"email": staff_user.email, "password": "correct-horse-battery-staple"}
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api_client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204
    assert api_client.get(ME).status_code == 200


def test_logout_all_ends_every_session_of_the_user_only(api_client, obtain_tokens, user):
    phone, laptop = obtain_tokens(user), obtain_tokens(user)
    someone_else = obtain_tokens(UserFactory())

    assert bearer(phone["access"]).post(LOGOUT_ALL).status_code == 204

    for session in (phone, laptop):
        assert bearer(session["access"]).get(ME).status_code == 401
        assert api_client.post("/api/v1/auth/token/refresh", {"refresh": session["refresh"]}).status_code == 401
    assert bearer(someone_else["access"]).get(ME).status_code == 200


def test_signing_in_right_after_logout_all_works(obtain_tokens, user):
    old = obtain_tokens(user)
    assert bearer(old["access"]).post(LOGOUT_ALL).status_code == 204
    # Within the same second as the revocation: the new pair must still be told apart from the old.
    new = obtain_tokens(user)
    assert bearer(new["access"]).get(ME).status_code == 200
    assert bearer(old["access"]).get(ME).status_code == 401


def test_logout_all_needs_a_signed_in_caller(api_client):
    assert api_client.post(LOGOUT_ALL).status_code == 401


def test_logout_all_leaves_api_keys_working(api_client, staff_user, obtain_tokens):
    key = api_key_create(owner=staff_user, name="integration").key
    tokens = obtain_tokens(staff_user)
    assert bearer(tokens["access"]).post(LOGOUT_ALL).status_code == 204
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api_client.get(ME).status_code == 200


def test_a_cache_outage_lets_tokens_through_and_logs_it(obtain_tokens, user, settings, caplog):
    tokens = obtain_tokens(user)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:8129/0",  # nothing listens here
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with caplog.at_level(logging.WARNING, logger="accounts.revocation"):
        assert bearer(tokens["access"]).get(ME).status_code == 200
        # Logout still revokes the refresh token; only the access token's denial is lost.
        assert bearer(tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204
    assert any("shared cache unavailable" in record.getMessage() for record in caplog.records)


@pytest.mark.requires_redis
def test_the_denial_is_stored_in_redis_with_the_tokens_remaining_lifetime(settings, obtain_tokens, user):
    """With Redis as the shared cache, as in production: every app server reads the same entry."""
    import redis as redis_client

    url = settings.REDIS_URL or "redis://127.0.0.1:6379/2"
    prefix = f"bookstore-test-revocation-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    redis = redis_client.Redis.from_url(url)
    try:
        tokens = obtain_tokens(user)
        access = AccessToken(tokens["access"])
        assert bearer(tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204

        [key] = redis.keys(f"{prefix}:*jwt:denied:{access['jti']}")
        remaining = access["exp"] - time.time()
        assert remaining < redis.ttl(key) <= remaining + 61
        assert bearer(tokens["access"]).get(ME).status_code == 401
    finally:
        # Only this test's keys: the database may be shared.
        for key in redis.scan_iter(f"{prefix}:*"):
            redis.delete(key)
