"""Sign-in with OpenID Connect against a real provider process (django-oauth-toolkit, tests/accounts/oidc_provider/).

The store runs in the test process; the provider in its own. The browser's
part (sign in at the provider, approve) is played by a plain HTTP client.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.conftest import bearer
from tests.accounts.oidc_provider import harness
from tests.accounts.oidc_provider.harness import OIDC_CLIENT_ID, OIDC_REDIRECT_URI, OidcProviderProcess
from tests.factories import UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

START = "/api/v1/auth/oidc/testidp/start"
CALLBACK = "/api/v1/auth/oidc/testidp/callback"
PASSWORD = "provider-password"
_numbers = itertools.count()


@pytest.fixture
def idp(oidc_provider: OidcProviderProcess, settings: Any) -> Iterator[OidcProviderProcess]:
    settings.OIDC_PROVIDERS = {"testidp": oidc_provider.settings()}
    oidc_provider.set_fault("")
    yield oidc_provider
    oidc_provider.set_fault("")


def provider_user(idp: OidcProviderProcess, email: str | None = None, **fields: Any) -> str:
    """A new user at the provider; returns their username."""
    username = f"person{next(_numbers)}"
    idp.add_user(
        username=username,
        password=PASSWORD,
        email=email or f"{username}@idp.example",
        first_name=fields.pop("first_name", "Ada"),
        last_name=fields.pop("last_name", "Lovelace"),
        **fields,
    )
    return username


def start(client: APIClient | None = None) -> str:
    """GET /start: the provider's authorization URL the browser is sent to."""
    response = (client or APIClient()).get(START)
    assert response.status_code == 302, response.content
    return str(response["Location"])


def authorize(idp: OidcProviderProcess, authorization_url: str, username: str) -> dict[str, str]:
    return harness.authorize(idp, authorization_url, username, PASSWORD)


def sign_in(idp: OidcProviderProcess, username: str) -> Any:
    return APIClient().post(CALLBACK, authorize(idp, start(), username))


# --- Start ---------------------------------------------------------------------------


def test_start_redirects_to_the_provider_with_pkce_state_and_nonce(idp):
    url = urlsplit(start())
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{idp.issuer}/authorize/"
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == OIDC_CLIENT_ID
    assert query["redirect_uri"] == OIDC_REDIRECT_URI
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    # Every start is a new attempt.
    again = parse_qs(urlsplit(start()).query)
    assert again["state"][0] != query["state"]
    assert again["nonce"][0] != query["nonce"]


def test_unknown_provider_is_404(idp):
    assert_envelope(APIClient().get("/api/v1/auth/oidc/nosuch/start"), 404, "not_found")
    assert_envelope(
        APIClient().post("/api/v1/auth/oidc/nosuch/callback", {"code": "x", "state": "y"}), 404, "not_found"
    )


def test_an_unreachable_provider_is_503_without_details(settings):
    settings.OIDC_PROVIDERS = {
        "testidp": {
            "issuer": "http://127.0.0.1:9/o",
            "client_id": "x",
            "client_secret": "y",
            "scopes": "openid email",
            "redirect_uri": OIDC_REDIRECT_URI,
        }
    }
    error = assert_envelope(APIClient().get(START), 503, "service_unavailable")
    assert "127.0.0.1" not in error["message"]
    assert "Traceback" not in error["message"]


def test_a_discovery_document_naming_another_issuer_is_refused(idp, settings):
    """The provider's metadata must name the issuer the shop configured, or nothing it says is used."""
    settings.OIDC_PROVIDERS = {"testidp": {**idp.settings(), "issuer": idp.issuer + "/"}}
    assert_envelope(APIClient().get(START), 503, "service_unavailable")


# --- Happy paths -------------------------------------------------------------------------


def test_first_sign_in_creates_a_customer_account_and_answers_the_stores_tokens(idp):
    username = provider_user(idp, email="New.Reader@IdP.example", first_name="Grace", last_name="Hopper")
    response = sign_in(idp, username)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    user = User.objects.get(email="new.reader@idp.example")
    assert (user.first_name, user.last_name, user.is_staff) == ("Grace", "Hopper", False)
    assert not user.has_usable_password()
    me = bearer(response.json()["access"]).get("/api/v1/users/me")
    assert me.status_code == 200
    assert me.json()["email"] == "new.reader@idp.example"
    refreshed = APIClient().post("/api/v1/auth/token/refresh", {"refresh": response.json()["refresh"]})
    assert refreshed.status_code == 200


def test_an_existing_account_is_matched_by_its_verified_email(idp):
    existing = UserFactory(email="known@idp.example", first_name="Known")
    username = provider_user(idp, email="KNOWN@idp.example", first_name="Other")
    response = sign_in(idp, username)
    assert response.status_code == 200, response.content
    assert User.objects.filter(email__iexact="known@idp.example").count() == 1
    me = bearer(response.json()["access"]).get("/api/v1/users/me").json()
    assert me["id"] == existing.pk
    existing.refresh_from_db()
    assert existing.first_name == "Known"  # the provider does not rename an existing account
    assert existing.last_login is not None


def test_a_closed_account_cannot_sign_in_with_a_provider(idp):
    UserFactory(email="closed@idp.example", is_active=False)
    response = sign_in(idp, provider_user(idp, email="closed@idp.example"))
    assert_envelope(response, 401, "not_authenticated")


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_staff_account_cannot_sign_in_with_a_provider(idp, flag):
    UserFactory(email="staff@idp.example", **{flag: True})
    response = sign_in(idp, provider_user(idp, email="staff@idp.example"))
    assert_envelope(response, 401, "not_authenticated")


# --- What must fail ----------------------------------------------------------------------


def test_a_wrong_state_is_400_and_nothing_is_created(idp):
    username = provider_user(idp)
    answer = authorize(idp, start(), username)
    response = APIClient().post(CALLBACK, {**answer, "state": "forged-" + answer["state"][7:]})
    error = assert_envelope(response, 400, "validation_error")
    assert set(error["details"]) == {"state"}
    assert not User.objects.filter(email=f"{username}@idp.example").exists()


def test_a_state_works_once(idp):
    answer = authorize(idp, start(), provider_user(idp))
    assert APIClient().post(CALLBACK, answer).status_code == 200
    again = APIClient().post(CALLBACK, answer)
    assert set(assert_envelope(again, 400, "validation_error")["details"]) == {"state"}


def test_a_state_of_another_provider_is_refused(idp, settings):
    settings.OIDC_PROVIDERS = {**settings.OIDC_PROVIDERS, "other": idp.settings()}
    answer = authorize(idp, start(), provider_user(idp))
    response = APIClient().post("/api/v1/auth/oidc/other/callback", answer)
    assert set(assert_envelope(response, 400, "validation_error")["details"]) == {"state"}


def test_an_expired_attempt_is_refused(idp):
    answer = authorize(idp, start(), provider_user(idp))
    cache.clear()  # what the state's time limit does
    assert_envelope(APIClient().post(CALLBACK, answer), 400, "validation_error")


def test_a_code_the_provider_refuses_is_400(idp):
    answer = authorize(idp, start(), provider_user(idp))
    response = APIClient().post(CALLBACK, {**answer, "code": "not-a-code"})
    error = assert_envelope(response, 400, "validation_error")
    assert error["details"] == {"code": ["The provider refused the code."]}


def test_a_wrong_nonce_is_refused(idp):
    username = provider_user(idp)
    idp.set_fault("wrong_nonce")
    error = assert_envelope(sign_in(idp, username), 400, "validation_error")
    assert "nonce" in error["message"]
    assert not User.objects.filter(email=f"{username}@idp.example").exists()


def test_an_id_token_signed_by_another_key_is_refused(idp):
    username = provider_user(idp)
    idp.set_fault("foreign_key")  # the provider's key id, another key's signature
    error = assert_envelope(sign_in(idp, username), 400, "validation_error")
    assert "signature is invalid" in error["message"]
    idp.set_fault("foreign_kid")  # a key the provider does not publish
    error = assert_envelope(sign_in(idp, username), 400, "validation_error")
    assert "key the provider does not publish" in error["message"]
    assert not User.objects.filter(email=f"{username}@idp.example").exists()


def test_an_expired_id_token_is_refused(idp):
    username = provider_user(idp)
    idp.set_fault("expired")
    error = assert_envelope(sign_in(idp, username), 400, "validation_error")
    assert "expired" in error["message"]
    assert not User.objects.filter(email=f"{username}@idp.example").exists()


def test_an_unverified_email_is_refused_even_for_an_existing_account(idp):
    victim = UserFactory(email="victim@idp.example")
    username = provider_user(idp, email="victim@idp.example", email_verified=False)
    error = assert_envelope(sign_in(idp, username), 400, "validation_error")
    assert "not verified" in error["message"]
    victim.refresh_from_db()
    assert victim.last_login is None


@pytest.mark.parametrize(("fault", "claim"), [("wrong_issuer", "iss"), ("wrong_audience", "aud")])
def test_an_id_token_for_another_issuer_or_client_is_refused(idp, fault, claim):
    username = provider_user(idp)
    idp.set_fault(fault)
    error = assert_envelope(sign_in(idp, username), 400, "validation_error")
    assert f"claim “{claim}”" in error["message"]
    assert not User.objects.filter(email=f"{username}@idp.example").exists()


@pytest.mark.parametrize("body", [{}, {"code": "x"}, {"state": "y"}, {"code": "", "state": ""}, {"code": ["x"]}])
def test_callback_validates_its_body(idp, body):
    assert_envelope(APIClient().post(CALLBACK, body, format="json"), 400, "validation_error")
