"""GET/PATCH /api/v1/users/me and POST /api/v1/users/me/password (API.md, "Accounts and auth")."""

from __future__ import annotations

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.accounts.conftest import bearer
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/users/me"
PASSWORD_URL = "/api/v1/users/me/password"
REFRESH_URL = "/api/v1/auth/token/refresh"
NEW_PASSWORD = "violet-harbour-compass-77"


def test_me_returns_the_caller(customer_client, user):
    response = customer_client.get(ME_URL)
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_staff": False,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_me_shows_staff_flag(staff_client):
    assert staff_client.get(ME_URL).json()["is_staff"] is True


def test_me_needs_authentication(api_client):
    assert_envelope(api_client.get(ME_URL), 401, "not_authenticated")
    assert_envelope(api_client.patch(ME_URL, {"first_name": "X"}), 401, "not_authenticated")


def test_patch_changes_the_name(customer_client, user):
    response = customer_client.patch(ME_URL, {"first_name": "Grace", "last_name": "Hopper"})
    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Grace"
    assert response.json()["last_name"] == "Hopper"
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Grace", "Hopper")


def test_patch_is_partial(customer_client, user):
    last_name = user.last_name
    assert customer_client.patch(ME_URL, {"first_name": "Only"}).status_code == 200
    user.refresh_from_db()
    assert user.first_name == "Only"
    assert user.last_name == last_name


@pytest.mark.parametrize(
    ("field", "value", "how"),
    [
        ("email", "new@example.com", "Contact the shop"),
        ("is_staff", True, "in the admin"),
        ("id", 999, "never changes"),
        ("date_joined", "2020-01-01T00:00:00Z", "never changes"),
        ("password", "violet-harbour-compass-77", "POST /api/v1/users/me/password"),
    ],
)
def test_a_read_only_field_is_400_naming_it_and_how_it_changes(customer_client, user, field, value, how):
    before = (user.email, user.is_staff, user.first_name, user.password)
    response = customer_client.patch(ME_URL, {field: value, "first_name": "Z"})
    error = assert_envelope(response, 400, "validation_error")
    assert set(error["details"]) == {field}
    assert how in error["details"][field][0]
    assert error["message"].startswith(f"Invalid input: {field}: ")
    assert how in error["message"]
    user.refresh_from_db()
    assert (user.email, user.is_staff, user.first_name, user.password) == before  # nothing changed, not even the name


def test_an_unknown_field_is_400_listing_the_writable_ones(customer_client, user):
    error = assert_envelope(customer_client.patch(ME_URL, {"firstname": "Z"}), 400, "validation_error")
    assert error["details"] == {"firstname": ["Unknown field. Fields that can be changed: first_name, last_name."]}


def test_refused_and_invalid_fields_are_reported_together(customer_client):
    error = assert_envelope(
        customer_client.patch(ME_URL, {"is_staff": True, "first_name": "x" * 151}), 400, "validation_error"
    )
    assert set(error["details"]) == {"is_staff", "first_name"}


@pytest.mark.parametrize("body", ["[]", '"text"', "3"])
def test_a_body_that_is_not_an_object_is_400(customer_client, body):
    assert_envelope(customer_client.patch(ME_URL, body, content_type="application/json"), 400, "validation_error")


def test_patch_validates_lengths(customer_client):
    error = assert_envelope(customer_client.patch(ME_URL, {"first_name": "x" * 151}), 400, "validation_error")
    assert set(error["details"]) == {"first_name"}


def test_put_is_not_offered(customer_client):
    assert_envelope(customer_client.put(ME_URL, {"first_name": "A", "last_name": "B"}), 405, "method_not_allowed")


# --- Password change ---------------------------------------------------------------


def test_password_change(customer_client, user, api_client):
    response = customer_client.post(PASSWORD_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    login = api_client.post("/api/v1/auth/token", {"email": user.email, "password": NEW_PASSWORD})
    assert login.status_code == 200
    old = api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert_envelope(old, 401, "not_authenticated")


def test_wrong_current_password_is_400(customer_client, user):
    response = customer_client.post(PASSWORD_URL, {"current_password": "not-my-password", "new_password": NEW_PASSWORD})
    error = assert_envelope(response, 400, "validation_error")
    assert set(error["details"]) == {"current_password"}
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("new_password", ["short", "password", "1234567890123"])
def test_new_password_must_pass_validators(customer_client, user, new_password):
    response = customer_client.post(PASSWORD_URL, {"current_password": DEFAULT_PASSWORD, "new_password": new_password})
    error = assert_envelope(response, 400, "validation_error")
    assert set(error["details"]) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_new_password_similar_to_email_is_rejected(api_client):
    user = UserFactory(email="margaret.hamilton@example.com")
    client = bearer(
        api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}).json()["access"]
    )
    response = client.post(PASSWORD_URL, {"current_password": DEFAULT_PASSWORD, "new_password": "margaret.hamilton"})
    assert set(assert_envelope(response, 400, "validation_error")["details"]) == {"new_password"}


def test_password_change_ends_every_session(api_client, obtain_tokens, user):
    sessions = [obtain_tokens(user) for _ in range(3)]
    other_user = UserFactory()
    bystander = obtain_tokens(other_user)
    client = bearer(sessions[0]["access"])
    response = client.post(PASSWORD_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert (
        BlacklistedToken.objects.filter(token__user=user).count()
        == OutstandingToken.objects.filter(user=user).count()
        == 3
    )
    for session in sessions:
        assert_envelope(api_client.post(REFRESH_URL, {"refresh": session["refresh"]}), 401, "not_authenticated")
        # Access tokens issued before the change stop working too.
        assert_envelope(bearer(session["access"]).get(ME_URL), 401, "not_authenticated")
    # Other users keep their sessions.
    assert api_client.post(REFRESH_URL, {"refresh": bystander["refresh"]}).status_code == 200


def test_password_change_needs_authentication(api_client):
    response = api_client.post(PASSWORD_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert_envelope(response, 401, "not_authenticated")


def test_password_change_needs_both_fields(customer_client):
    error = assert_envelope(customer_client.post(PASSWORD_URL, {}), 400, "validation_error")
    assert set(error["details"]) == {"current_password", "new_password"}
