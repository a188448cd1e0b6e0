"""POST /api/v1/auth/register (API.md, "Accounts and auth")."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from tests.factories import UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/register"
GOOD_PASSWORD = "plum-orchard-lantern-42"
User = get_user_model()


def test_register_creates_a_customer_and_returns_the_user(api_client):
    response = api_client.post(
        URL, {"email": "Reader@Example.COM", "password": GOOD_PASSWORD, "first_name": "Ada", "last_name": "Byron"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "email", "first_name", "last_name", "is_staff", "date_joined"}
    assert body["email"] == "reader@example.com"
    assert body["first_name"] == "Ada"
    assert body["last_name"] == "Byron"
    assert body["is_staff"] is False
    user = User.objects.get(pk=body["id"])
    assert user.email == "reader@example.com"
    assert user.check_password(GOOD_PASSWORD)
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser


def test_names_are_optional(api_client):
    response = api_client.post(URL, {"email": "plain@example.com", "password": GOOD_PASSWORD})
    assert response.status_code == 201, response.content
    assert response.json()["first_name"] == ""


def test_is_staff_in_the_body_is_ignored(api_client):
    response = api_client.post(URL, {"email": "sneaky@example.com", "password": GOOD_PASSWORD, "is_staff": True})
    assert response.status_code == 201
    assert response.json()["is_staff"] is False
    assert not User.objects.get(email="sneaky@example.com").is_staff


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.Com"])
def test_duplicate_email_in_any_case_is_400_on_email(api_client, email):
    UserFactory(email="taken@example.com")
    error = assert_envelope(api_client.post(URL, {"email": email, "password": GOOD_PASSWORD}), 400, "validation_error")
    assert set(error["details"]) == {"email"}
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("83749201384756", "entirely numeric"),
        ("weakling@example.com", "too similar to the email address"),
    ],
)
def test_password_must_pass_django_validators(api_client, password, reason):
    error = assert_envelope(
        api_client.post(URL, {"email": "weakling@example.com", "password": password}), 400, "validation_error"
    )
    assert set(error["details"]) == {"password"}
    assert any(reason in message for message in error["details"]["password"]), error
    assert not User.objects.filter(email="weakling@example.com").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": GOOD_PASSWORD}, "email"),
        ({"email": "nobody@example.com"}, "password"),
        ({"email": "not-an-email", "password": GOOD_PASSWORD}, "email"),
        ({"email": "x" * 250 + "@example.com", "password": GOOD_PASSWORD}, "email"),
        ({"email": "long@example.com", "password": GOOD_PASSWORD, "first_name": "x" * 151}, "first_name"),
    ],
)
def test_bad_fields_are_400_naming_the_field(api_client, body, field):
    error = assert_envelope(api_client.post(URL, body), 400, "validation_error")
    assert field in error["details"]
    assert User.objects.count() == 0


def test_stale_bearer_token_does_not_block_registration(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api_client.post(URL, {"email": "fresh@example.com", "password": GOOD_PASSWORD}).status_code == 201


@override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
)
def test_passwords_are_stored_with_argon2id(api_client):
    response = api_client.post(URL, {"email": "argon@example.com", "password": GOOD_PASSWORD})
    assert response.status_code == 201
    user = User.objects.get(email="argon@example.com")
    assert user.password.startswith("argon2$argon2id$")
    assert GOOD_PASSWORD not in user.password
    login = api_client.post("/api/v1/auth/token", {"email": "argon@example.com", "password": GOOD_PASSWORD})
    assert login.status_code == 200
