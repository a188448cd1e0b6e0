"""JWT login, refresh with rotation, logout, and every way a token must fail (API.md, "Accounts and auth")."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts.exceptions import TokenRejected
from tests.accounts.conftest import bearer
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
ME_URL = "/api/v1/users/me"
SIGNING_KEY = settings.SIMPLE_JWT["SIGNING_KEY"]


def _claims(token: str) -> dict:
    return jwt.decode(token, SIGNING_KEY, algorithms=["HS256"])


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- Login ----------------------------------------------------------------------


def test_login_returns_access_and_refresh_tokens(api_client, user):
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    access, refresh = _claims(body["access"]), _claims(body["refresh"])
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    assert access["user_id"] == refresh["user_id"] == str(user.pk)
    assert bearer(body["access"]).get(ME_URL).json()["email"] == user.email
    user.refresh_from_db()
    assert user.last_login is not None


def test_token_lifetimes_are_15_minutes_and_7_days(api_client, user):
    body = api_client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}).json()
    access, refresh = _claims(body["access"]), _claims(body["refresh"])
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_login_email_is_case_insensitive(api_client, user):
    response = api_client.post(TOKEN_URL, {"email": user.email.upper(), "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "user-that-does-not-exist@example.com", "password": DEFAULT_PASSWORD},
        {"email": "{email}", "password": "wrong-password"},
        {"email": "{email}", "password": DEFAULT_PASSWORD.upper()},
        {"email": "not an email", "password": DEFAULT_PASSWORD},
    ],
)
def test_wrong_credentials_are_401(api_client, user, credentials):
    body = {key: value.format(email=user.email) for key, value in credentials.items()}
    assert_envelope(api_client.post(TOKEN_URL, body), 401, "not_authenticated")


def test_inactive_user_cannot_log_in(api_client):
    inactive = UserFactory(is_active=False)
    error = assert_envelope(
        api_client.post(TOKEN_URL, {"email": inactive.email, "password": DEFAULT_PASSWORD}), 401, "not_authenticated"
    )
    # The same answer as for a wrong password: nothing tells an account exists.
    wrong = api_client.post(TOKEN_URL, {"email": inactive.email, "password": "nope-nope-nope"}).json()["error"]
    assert error["message"] == wrong["message"]


def test_login_without_fields_is_400(api_client):
    error = assert_envelope(api_client.post(TOKEN_URL, {}), 400, "validation_error")
    assert set(error["details"]) == {"email", "password"}


# --- Refresh ----------------------------------------------------------------------


def test_refresh_rotates_and_blacklists_the_old_token(api_client, obtain_tokens, user):
    first = obtain_tokens(user)
    response = api_client.post(REFRESH_URL, {"refresh": first["refresh"]})
    assert response.status_code == 200, response.content
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert _claims(second["refresh"])["jti"] != _claims(first["refresh"])["jti"]
    assert bearer(second["access"]).get(ME_URL).status_code == 200
    assert BlacklistedToken.objects.filter(token__jti=_claims(first["refresh"])["jti"]).exists()
    assert OutstandingToken.objects.filter(jti=_claims(second["refresh"])["jti"], user=user).exists()
    # The new refresh token works once in turn.
    assert api_client.post(REFRESH_URL, {"refresh": second["refresh"]}).status_code == 200


def test_refresh_reuse_after_rotation_is_401(api_client, obtain_tokens, user):
    first = obtain_tokens(user)
    assert api_client.post(REFRESH_URL, {"refresh": first["refresh"]}).status_code == 200
    assert_envelope(api_client.post(REFRESH_URL, {"refresh": first["refresh"]}), 401, "not_authenticated")


def test_access_token_is_not_a_refresh_token(api_client, obtain_tokens, user):
    tokens = obtain_tokens(user)
    assert_envelope(api_client.post(REFRESH_URL, {"refresh": tokens["access"]}), 401, "not_authenticated")


@pytest.mark.parametrize("refresh", ["", "garbage", "a.b.c"])
def test_malformed_refresh_token(api_client, refresh):
    response = api_client.post(REFRESH_URL, {"refresh": refresh})
    if refresh:
        assert_envelope(response, 401, "not_authenticated")
    else:
        assert_envelope(response, 400, "validation_error")


def test_refresh_of_deactivated_user_is_401(api_client, obtain_tokens, user):
    tokens = obtain_tokens(user)
    user.is_active = False
    user.save()
    assert_envelope(api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}), 401, "not_authenticated")


def test_refresh_of_deleted_user_is_401(api_client, obtain_tokens, user):
    tokens = obtain_tokens(user)
    user.delete()
    assert_envelope(api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}), 401, "not_authenticated")


def test_refresh_token_never_recorded_is_rejected(user):
    # Signed with our key but not issued through login: not in the outstanding list.
    claims = {"token_type": "refresh", "jti": "f" * 32, "user_id": str(user.pk)}
    claims |= {"iat": int(timezone.now().timestamp()), "exp": int((timezone.now() + timedelta(days=1)).timestamp())}
    claims["hash_password"] = _claims(str(services._token_pair_for(user).refresh))["hash_password"]
    forged = jwt.encode(claims, SIGNING_KEY, algorithm="HS256")
    with pytest.raises(TokenRejected):
        services.token_pair_refresh(refresh=forged)


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_yield_one_new_pair():
    user = UserFactory()
    refresh = services.token_pair_obtain(email=user.email, password=DEFAULT_PASSWORD).refresh
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            services.token_pair_refresh(refresh=refresh)
            outcomes.append("ok")
        except TokenRejected:
            outcomes.append("rejected")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok", "rejected", "rejected", "rejected"]


# --- Access tokens that must fail ---------------------------------------------------


def test_no_credentials_is_401(api_client):
    response = api_client.get(ME_URL)
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_tampered_jwt_is_401(user, obtain_tokens):
    other = UserFactory(is_staff=True)
    header, payload, signature = obtain_tokens(user)["access"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(other.pk)
    tampered = f"{header}.{_b64(claims)}.{signature}"
    assert_envelope(bearer(tampered).get(ME_URL), 401, "not_authenticated")


def test_alg_none_jwt_is_401(user, obtain_tokens):
    claims = _claims(obtain_tokens(user)["access"])
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert_envelope(bearer(unsigned).get(ME_URL), 401, "not_authenticated")
    assert_envelope(bearer(jwt.encode(claims, None, algorithm="none")).get(ME_URL), 401, "not_authenticated")


def test_expired_jwt_is_401(user, obtain_tokens):
    claims = _claims(obtain_tokens(user)["access"])
    claims["iat"] = int((timezone.now() - timedelta(minutes=20)).timestamp())
    claims["exp"] = int((timezone.now() - timedelta(minutes=5)).timestamp())
    expired = jwt.encode(claims, SIGNING_KEY, algorithm="HS256")
    error = assert_envelope(bearer(expired).get(ME_URL), 401, "not_authenticated")
    assert "expired" in error["message"]


def test_jwt_signed_with_another_key_is_401(user, obtain_tokens):
    claims = _claims(obtain_tokens(user)["access"])
    foreign = jwt.encode(claims, "another-signing-key-that-is-long-enough-0123456789", algorithm="HS256")
    assert_envelope(bearer(foreign).get(ME_URL), 401, "not_authenticated")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_jwt_with_another_hmac_algorithm_is_401(user, obtain_tokens):
    claims = _claims(obtain_tokens(user)["access"])
    assert_envelope(bearer(jwt.encode(claims, SIGNING_KEY, algorithm="HS512")).get(ME_URL), 401, "not_authenticated")


def test_refresh_token_is_not_an_access_token(user, obtain_tokens):
    assert_envelope(bearer(obtain_tokens(user)["refresh"]).get(ME_URL), 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not.a.jwt", "Bearer ünïcode"])
def test_malformed_bearer_header_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


def test_token_of_deactivated_user_fails_at_once(user, obtain_tokens):
    client = bearer(obtain_tokens(user)["access"])
    assert client.get(ME_URL).status_code == 200
    user.is_active = False
    user.save()
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


def test_token_of_deleted_user_fails_at_once(user, obtain_tokens):
    client = bearer(obtain_tokens(user)["access"])
    assert client.get(ME_URL).status_code == 200
    user.delete()
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


# --- Logout -----------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, obtain_tokens, user):
    tokens = obtain_tokens(user)
    response = bearer(tokens["access"]).post(LOGOUT_URL, {"refresh": tokens["refresh"]})
    assert response.status_code == 204, response.content
    assert response.content == b""
    assert BlacklistedToken.objects.filter(token__jti=_claims(tokens["refresh"])["jti"]).exists()
    assert_envelope(api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}), 401, "not_authenticated")


def test_logout_leaves_other_sessions_alone(api_client, obtain_tokens, user):
    phone, laptop = obtain_tokens(user), obtain_tokens(user)
    assert bearer(phone["access"]).post(LOGOUT_URL, {"refresh": phone["refresh"]}).status_code == 204
    assert api_client.post(REFRESH_URL, {"refresh": laptop["refresh"]}).status_code == 200


def test_logout_with_someone_elses_refresh_token_is_rejected(api_client, obtain_tokens, user):
    other = UserFactory()
    mine, theirs = obtain_tokens(user), obtain_tokens(other)
    error = assert_envelope(
        bearer(mine["access"]).post(LOGOUT_URL, {"refresh": theirs["refresh"]}), 400, "validation_error"
    )
    assert set(error["details"]) == {"refresh"}
    # Their session is untouched.
    assert api_client.post(REFRESH_URL, {"refresh": theirs["refresh"]}).status_code == 200


@pytest.mark.parametrize("refresh", ["garbage", "{access}"])
def test_logout_with_an_invalid_refresh_token_is_400(obtain_tokens, user, refresh):
    tokens = obtain_tokens(user)
    response = bearer(tokens["access"]).post(LOGOUT_URL, {"refresh": refresh.format(**tokens)})
    assert assert_envelope(response, 400, "validation_error")["details"].keys() == {"refresh"}


def test_logout_needs_authentication(api_client, obtain_tokens, user):
    tokens = obtain_tokens(user)
    assert_envelope(api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}), 401, "not_authenticated")
    assert not BlacklistedToken.objects.exists()
