"""Admin: email-based users (no username anywhere) and API keys issued through the service."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KEY_IN_MESSAGE = re.compile(r"<code>(bk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43})</code>")


# --- Users ---------------------------------------------------------------------------------


def test_user_add_form_asks_for_email_not_username(admin_client):
    response = admin_client.get("/admin/accounts/user/add/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="email"' in content
    assert "username" not in content.lower()


def test_user_added_in_admin_has_a_lowercased_email(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Staff@Example.com",
            "first_name": "New",
            "last_name": "Staff",
            "usable_password": "true",
            "password1": "amber-kestrel-meadow-58",
            "password2": "amber-kestrel-meadow-58",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.staff@example.com")
    assert user.check_password("amber-kestrel-meadow-58")
    assert user.first_name == "New"


def test_user_add_rejects_an_email_taken_in_another_case(admin_client):
    UserFactory(email="taken@example.com")
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": "amber-kestrel-meadow-58",
            "password2": "amber-kestrel-meadow-58",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors.keys() == {"email"}
    assert errors["email"] == ["A user with this email address already exists."]
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_user_add_applies_password_validators(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"email": "weak@example.com", "usable_password": "true", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="weak@example.com").exists()


def test_user_change_form_and_changelist_have_no_username(admin_client):
    user = UserFactory()
    change = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert change.status_code == 200
    assert "username" not in change.content.decode().lower()
    listing = admin_client.get("/admin/accounts/user/", {"q": user.email})
    assert listing.status_code == 200
    assert user.email in listing.content.decode()


def test_user_change_saves_email_lowercased(admin_client):
    user = UserFactory()
    change = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    form = change.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data |= {"email": "Renamed@Example.com", "groups": [], "user_permissions": []}
    data["date_joined_0"], data["date_joined_1"] = user.date_joined.strftime("%Y-%m-%d"), "00:00:00"
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.email == "renamed@example.com"


def test_sign_out_everywhere_action(admin_client, obtain_tokens):
    user = UserFactory()
    tokens = obtain_tokens(user)
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "sign_out_everywhere", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    refresh = APIClient().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]})
    assert refresh.status_code == 401


# --- API keys ----------------------------------------------------------------------------


def test_adding_a_key_shows_it_once_and_it_works(admin_client):
    owner = UserFactory(is_staff=True)
    response = admin_client.post(
        "/admin/accounts/apikey/add/",
        {"name": "warehouse", "owner": owner.pk, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain, response.context["adminform"].form.errors
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.owner, api_key.expires_at) == ("warehouse", owner, None)
    # The page after saving shows the key, once.
    shown = KEY_IN_MESSAGE.findall(response.content.decode())
    assert len(shown) == 1
    key = shown[0]
    assert key.startswith(f"bk_{api_key.prefix}_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/users/me").json()["id"] == owner.pk
    # Never again: the change page and the list show the prefix only.
    for url in (f"/admin/accounts/apikey/{api_key.pk}/change/", "/admin/accounts/apikey/"):
        page = admin_client.get(url).content.decode()
        assert key not in page
        assert api_key.prefix in page


def test_adding_a_key_for_a_customer_is_refused(admin_client):
    customer = UserFactory()
    response = admin_client.post("/admin/accounts/apikey/add/", {"name": "nope", "owner": customer.pk})
    assert response.status_code == 200
    assert "owner" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_adding_a_key_with_past_expiry_is_refused(admin_client):
    owner = UserFactory(is_staff=True)
    past = timezone.now() - timedelta(days=1)
    response = admin_client.post(
        "/admin/accounts/apikey/add/",
        {
            "name": "late",
            "owner": owner.pk,
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": past.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert "expires_at" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_changelist_shows_the_key_columns(admin_client):
    owner = UserFactory(is_staff=True, email="keeper@example.com")
    api_key = services.api_key_create(owner=owner, name="storefront").api_key
    response = admin_client.get("/admin/accounts/apikey/")
    assert response.status_code == 200
    content = response.content.decode()
    for text in ("storefront", api_key.prefix, "keeper@example.com"):
        assert text in content
    for column in ("name", "prefix", "owner", "created_at", "last_used_at", "expires_at", "revoked_at"):
        assert f'class="sortable column-{column}' in content or f'class="column-{column}' in content, column


def test_revoke_selected_keys_action(admin_client):
    owner = UserFactory(is_staff=True)
    first = services.api_key_create(owner=owner, name="one")
    second = services.api_key_create(owner=owner, name="two")
    kept = services.api_key_create(owner=owner, name="kept")
    response = admin_client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_selected", "_selected_action": [first.api_key.pk, second.api_key.pk]},
    )
    assert response.status_code == 302
    assert set(ApiKey.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {
        first.api_key.pk,
        second.api_key.pk,
    }
    for created, status in ((first, 401), (kept, 200)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {created.key}")
        assert client.get("/api/v1/users/me").status_code == status
    # The status filter finds them.
    revoked_page = admin_client.get("/admin/accounts/apikey/", {"status": "revoked"})
    assert {obj.pk for obj in revoked_page.context["cl"].result_list} == {first.api_key.pk, second.api_key.pk}


def test_owner_autocomplete_offers_active_staff_only(admin_client):
    staff = UserFactory(is_staff=True, email="pick-staff@example.com")
    UserFactory(email="pick-customer@example.com")
    UserFactory(is_staff=True, is_active=False, email="pick-former@example.com")
    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": "apikey", "field_name": "owner", "term": "pick"},
    )
    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(staff.pk)]


def test_staff_without_superuser_see_and_issue_only_their_own_keys(client):
    from django.contrib.auth.models import Permission

    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename__in=["view_apikey", "add_apikey", "change_apikey"]))
    colleague = UserFactory(is_staff=True)
    services.api_key_create(owner=colleague, name="colleague's")
    mine = services.api_key_create(owner=clerk, name="mine").api_key
    client.force_login(clerk)
    listing = client.get("/admin/accounts/apikey/")
    assert [obj.pk for obj in listing.context["cl"].result_list] == [mine.pk]
    response = client.post("/admin/accounts/apikey/add/", {"name": "as colleague", "owner": colleague.pk})
    assert response.status_code == 200
    assert "owner" in response.context["adminform"].form.errors
    assert not ApiKey.objects.filter(name="as colleague").exists()


def test_user_change_rejects_an_email_taken_in_another_case(admin_client):
    UserFactory(email="first@example.com")
    user = UserFactory(email="second@example.com")
    change = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    form = change.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data |= {"email": "FIRST@example.com", "groups": [], "user_permissions": []}
    data["date_joined_0"], data["date_joined_1"] = user.date_joined.strftime("%Y-%m-%d"), "00:00:00"
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.keys() == {"email"}
    user.refresh_from_db()
    assert user.email == "second@example.com"
