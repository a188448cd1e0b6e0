"""API keys: /api/v1/api-keys and ``Authorization: Api-Key <key>`` (API.md, "Accounts and auth")."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.exceptions import ApiKeyExpiryInvalid, ApiKeyOwnerNotAllowed, ApiKeyRejected
from accounts.models import ApiKey
from tests.factories import UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/api-keys"
ME_URL = "/api/v1/users/me"
KEY_RE = re.compile(r"^bk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$")
PUBLIC_FIELDS = {"id", "name", "prefix", "scopes", "daily_quota", "created_at", "expires_at", "last_used_at"}


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def issue(owner, **kwargs) -> str:
    return services.api_key_create(owner=owner, name=kwargs.pop("name", "integration"), **kwargs).key


# --- Managing keys -----------------------------------------------------------------


def test_staff_creates_a_key_shown_once(staff_client, staff_user):
    response = staff_client.post(URL, {"name": "warehouse"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == PUBLIC_FIELDS | {"key"}
    assert KEY_RE.match(body["key"]), body["key"]
    assert body["name"] == "warehouse"
    assert body["key"].startswith(f"bk_{body['prefix']}_")
    assert body["expires_at"] is None
    assert body["last_used_at"] is None
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.owner == staff_user
    assert stored.prefix == body["prefix"]
    # Only the SHA-256 digest is stored, never the key.
    assert stored.digest == hashlib.sha256(body["key"].encode()).hexdigest()
    row = ApiKey.objects.filter(pk=body["id"]).values().get()
    assert all(body["key"] not in str(value) for value in row.values())
    # Listing and reading it again never show the key.
    listed = staff_client.get(URL).json()["results"]
    assert [set(item) for item in listed] == [PUBLIC_FIELDS]
    assert set(staff_client.get(f"{URL}/{body['id']}").json()) == PUBLIC_FIELDS


def test_create_with_expiry(staff_client):
    expires = timezone.now() + timedelta(days=30)
    response = staff_client.post(URL, {"name": "storefront", "expires_at": expires.isoformat()})
    assert response.status_code == 201, response.content
    assert ApiKey.objects.get(pk=response.json()["id"]).expires_at == expires


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(minutes=-1)])
def test_expiry_in_the_past_is_400(staff_client, delta):
    response = staff_client.post(URL, {"name": "late", "expires_at": (timezone.now() + delta).isoformat()})
    assert set(assert_envelope(response, 400, "validation_error")["details"]) == {"expires_at"}
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": "ok", "expires_at": "soon"}])
def test_create_validates_input(staff_client, body):
    assert_envelope(staff_client.post(URL, body), 400, "validation_error")
    assert not ApiKey.objects.exists()


def test_list_shows_only_the_callers_usable_and_expired_keys_newest_first(staff_client, staff_user):
    older = services.api_key_create(owner=staff_user, name="older").api_key
    newer = services.api_key_create(owner=staff_user, name="newer").api_key
    revoked = services.api_key_create(owner=staff_user, name="revoked").api_key
    services.api_key_revoke(api_key=revoked)
    services.api_key_create(owner=UserFactory(is_staff=True), name="colleague's")
    response = staff_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]


def test_another_staff_members_key_is_404(staff_client):
    theirs = services.api_key_create(owner=UserFactory(is_staff=True), name="theirs").api_key
    assert_envelope(staff_client.get(f"{URL}/{theirs.pk}"), 404, "not_found")
    assert_envelope(staff_client.delete(f"{URL}/{theirs.pk}"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_delete_revokes_at_once(staff_client, staff_user):
    created = services.api_key_create(owner=staff_user, name="leaked")
    assert key_client(created.key).get(ME_URL).status_code == 200
    response = staff_client.delete(f"{URL}/{created.api_key.pk}")
    assert response.status_code == 204
    assert response.content == b""
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is not None
    assert_envelope(key_client(created.key).get(ME_URL), 401, "not_authenticated")
    assert staff_client.get(URL).json()["count"] == 0
    assert_envelope(staff_client.delete(f"{URL}/{created.api_key.pk}"), 404, "not_found")


def test_customers_may_not_manage_keys(customer_client, user):
    assert_envelope(customer_client.get(URL), 403, "permission_denied")
    assert_envelope(customer_client.post(URL, {"name": "mine"}), 403, "permission_denied")
    assert not ApiKey.objects.exists()


def test_anonymous_may_not_manage_keys(api_client):
    assert_envelope(api_client.get(URL), 401, "not_authenticated")
    assert_envelope(api_client.post(URL, {"name": "mine"}), 401, "not_authenticated")


def test_service_refuses_keys_for_non_staff_and_past_expiry():
    with pytest.raises(ApiKeyOwnerNotAllowed):
        services.api_key_create(owner=UserFactory(), name="customer")
    with pytest.raises(ApiKeyOwnerNotAllowed):
        services.api_key_create(owner=UserFactory(is_staff=True, is_active=False), name="former staff")
    with pytest.raises(ApiKeyExpiryInvalid):
        services.api_key_create(
            owner=UserFactory(is_staff=True), name="late", expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert not ApiKey.objects.exists()


# --- Authenticating with a key ------------------------------------------------------


def test_key_acts_as_its_owner(staff_user):
    response = key_client(issue(staff_user)).get(ME_URL)
    assert response.status_code == 200
    assert response.json()["id"] == staff_user.pk


def test_scheme_name_is_case_insensitive(staff_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"api-key {issue(staff_user)}")
    assert client.get(ME_URL).status_code == 200


def test_key_cannot_manage_keys_not_even_the_owners(staff_user):
    """Creating, listing and revoking keys needs a JWT (tests/security/test_api_key_minting.py has the attack)."""
    created = services.api_key_create(owner=staff_user, name="integration")
    client = key_client(created.key)
    assert_envelope(client.post(URL, {"name": "second"}), 403, "permission_denied")
    assert_envelope(client.get(URL), 403, "permission_denied")
    assert_envelope(client.delete(f"{URL}/{created.api_key.pk}"), 403, "permission_denied")
    assert ApiKey.objects.filter(owner=staff_user, revoked_at__isnull=True).count() == 1


def test_revoked_key_is_401(staff_user):
    created = services.api_key_create(owner=staff_user, name="x")
    services.api_key_revoke(api_key=created.api_key)
    assert_envelope(key_client(created.key).get(ME_URL), 401, "not_authenticated")


def test_expired_key_is_401(staff_user):
    expires_at = timezone.now() + timedelta(seconds=1.5)
    created = services.api_key_create(owner=staff_user, name="x", expires_at=expires_at)
    assert key_client(created.key).get(ME_URL).status_code == 200
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.05)  # the key expires by the clock
    assert_envelope(key_client(created.key).get(ME_URL), 401, "not_authenticated")


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_staff": False}])
def test_key_of_owner_no_longer_active_staff_is_401(staff_user, change):
    key = issue(staff_user)
    assert key_client(key).get(ME_URL).status_code == 200
    for field, value in change.items():
        setattr(staff_user, field, value)
    staff_user.save()
    assert_envelope(key_client(key).get(ME_URL), 401, "not_authenticated")


def test_key_of_deleted_owner_is_401(staff_user):
    key = issue(staff_user)
    staff_user.delete()
    assert_envelope(key_client(key).get(ME_URL), 401, "not_authenticated")


def test_wrong_secret_with_a_real_prefix_is_401(staff_user):
    key = issue(staff_user)
    prefix, secret = key.split("_", 2)[1:]
    forged = f"bk_{prefix}_{'A' * len(secret)}"
    response = key_client(forged).get(ME_URL)
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    ["Api-Key", "Api-Key a b", "Api-Key bk_unknown1_secret", "Api-Key not-a-key", "Api-Key bk_ÄÖÜäöüßé_x"],
)
def test_malformed_or_unknown_keys_are_401(staff_user, header):
    issue(staff_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


def test_authentication_costs_one_query_plus_a_throttled_last_use_write(
    staff_user, django_assert_num_queries, settings
):
    """Without Redis (development): the database path. With Redis, see test_api_key_cache.py (no query at all)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    created = services.api_key_create(owner=staff_user, name="counted")
    client = key_client(created.key)
    # First use: the key with its owner, and the last_used_at write.
    with django_assert_num_queries(2):
        assert client.get(ME_URL).status_code == 200
    created.api_key.refresh_from_db()
    first_use = created.api_key.last_used_at
    assert first_use is not None
    # Within the minute: the one lookup only, no write.
    for _ in range(3):
        with django_assert_num_queries(1):
            assert client.get(ME_URL).status_code == 200
    created.api_key.refresh_from_db()
    assert created.api_key.last_used_at == first_use
    # A minute later the next request records the use again.
    ApiKey.objects.filter(pk=created.api_key.pk).update(last_used_at=timezone.now() - timedelta(seconds=61))
    with django_assert_num_queries(2):
        assert client.get(ME_URL).status_code == 200
    created.api_key.refresh_from_db()
    assert created.api_key.last_used_at > first_use


def test_last_used_write_is_conditional_in_the_database(staff_user):
    api_key = services.api_key_create(owner=staff_user, name="raced").api_key
    seen_by_a, seen_by_b = ApiKey.objects.get(pk=api_key.pk), ApiKey.objects.get(pk=api_key.pk)
    now = timezone.now()
    services.api_key_mark_used(api_key=seen_by_a, now=now)
    # A second worker that loaded the key before that write finds the row already fresh.
    with CaptureQueriesContext(connection) as queries:
        services.api_key_mark_used(api_key=seen_by_b, now=now + timedelta(seconds=5))
    assert len(queries) == 1
    assert "UPDATE" in queries[0]["sql"]
    api_key.refresh_from_db()
    assert api_key.last_used_at == now


def test_failed_key_authentication_writes_nothing(staff_user):
    created = services.api_key_create(owner=staff_user, name="x")
    services.api_key_revoke(api_key=created.api_key)
    with pytest.raises(ApiKeyRejected):
        services.api_key_authenticate(key=created.key)
    created.api_key.refresh_from_db()
    assert created.api_key.last_used_at is None


def test_bearer_and_api_key_both_work_on_the_same_endpoint(staff_client, staff_user):
    assert staff_client.get("/api/v1/coupons").status_code == 200
    assert key_client(issue(staff_user)).get("/api/v1/coupons").status_code == 200
