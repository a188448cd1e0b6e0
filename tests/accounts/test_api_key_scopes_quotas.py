"""Scoped API keys with daily quotas, their X-RateLimit-* headers and usage per day (API.md, "Accounts additions")."""

from __future__ import annotations

import calendar
import os
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache, caches
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import quotas, services
from accounts.models import ALL_API_KEY_SCOPES, ApiKey, ApiKeyDailyUsage
from accounts.selectors import api_key_usage
from tests.factories import AuthorFactory, BookFactory, UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/api-keys"


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def issue(owner, **kwargs) -> tuple[ApiKey, APIClient]:
    created = services.api_key_create(owner=owner, name="integration", **kwargs)
    return created.api_key, key_client(created.key)


def next_midnight_utc() -> int:
    today = datetime.now(UTC).date()
    return calendar.timegm((today + timedelta(days=1)).timetuple())


# --- Creating scoped keys ----------------------------------------------------------


def test_a_new_key_has_every_scope_and_no_quota_by_default(staff_client):
    response = staff_client.post(URL, {"name": "all"})
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == list(ALL_API_KEY_SCOPES)
    assert response.json()["daily_quota"] is None


def test_create_with_scopes_and_quota(staff_client):
    response = staff_client.post(URL, {"name": "feed", "scopes": ["orders:read", "catalog:read"], "daily_quota": 500})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scopes"] == ["catalog:read", "orders:read"]
    assert body["daily_quota"] == 500
    stored = ApiKey.objects.get(pk=body["id"])
    assert (stored.scopes, stored.daily_quota) == (["catalog:read", "orders:read"], 500)
    assert staff_client.get(f"{URL}/{body['id']}").json()["scopes"] == ["catalog:read", "orders:read"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["catalog:admin"]}, "scopes"),
        ({"scopes": "catalog:read"}, "scopes"),
        ({"daily_quota": 0}, "daily_quota"),
        ({"daily_quota": -5}, "daily_quota"),
        ({"daily_quota": "many"}, "daily_quota"),
    ],
)
def test_bad_scopes_or_quota_are_400(staff_client, body, field):
    response = staff_client.post(URL, {"name": "bad", **body})
    details = assert_envelope(response, 400, "validation_error")["details"]
    assert {name.partition(".")[0] for name in details} == {field}  # e.g. "scopes.0" for the first scope
    assert not ApiKey.objects.exists()


# --- Scopes ----------------------------------------------------------------------


def test_a_catalog_read_key_reads_the_catalog_and_nothing_else(staff_user):
    author = AuthorFactory()
    BookFactory(authors=[author])
    _, client = issue(staff_user, scopes=["catalog:read"])
    assert client.get("/api/v1/books").status_code == 200
    assert client.get(f"/api/v1/authors/{author.pk}").status_code == 200
    refused = client.post("/api/v1/authors", {"name": "Frank Herbert"})
    assert "catalog:write" in assert_envelope(refused, 403, "permission_denied")["message"]
    assert_envelope(client.get("/api/v1/orders"), 403, "permission_denied")
    assert_envelope(client.get("/api/v1/coupons"), 403, "permission_denied")
    # The account's own routes need a key with every scope.
    assert_envelope(client.get("/api/v1/users/me"), 403, "permission_denied")
    assert_envelope(client.patch("/api/v1/users/me", {"first_name": "X"}), 403, "permission_denied")


def test_a_catalog_write_key_writes_but_does_not_read(staff_user):
    _, client = issue(staff_user, scopes=["catalog:write"])
    assert client.post("/api/v1/authors", {"name": "Frank Herbert"}).status_code == 201
    assert_envelope(client.get("/api/v1/authors"), 403, "permission_denied")


def test_an_orders_read_key_reads_orders_and_may_quote(staff_user):
    book = BookFactory(authors=[AuthorFactory()], stock=5)
    _, client = issue(staff_user, scopes=["orders:read"])
    assert client.get("/api/v1/orders").status_code == 200
    assert client.get("/api/v1/coupons").status_code == 200
    # The quote only computes prices: reading is enough.
    assert client.post("/api/v1/orders/quote", {"items": [{"book_id": book.pk, "quantity": 1}]}).status_code == 200
    assert_envelope(
        client.post("/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}]}), 403, "permission_denied"
    )
    assert_envelope(client.get("/api/v1/books"), 403, "permission_denied")


def test_an_orders_write_key_places_orders(staff_user):
    book = BookFactory(authors=[AuthorFactory()], stock=5)
    _, client = issue(staff_user, scopes=["orders:write"])
    response = client.post("/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}]})
    assert response.status_code == 201, response.content


def test_a_key_never_does_more_than_its_owner(db):
    # Staff without any permission: even a key with every scope cannot write the catalog.
    owner = UserFactory(is_staff=True)
    _, client = issue(owner)
    assert_envelope(client.post("/api/v1/authors", {"name": "Frank Herbert"}), 403, "permission_denied")
    assert client.get("/api/v1/users/me").status_code == 200


def test_a_key_with_every_scope_still_cannot_manage_keys(staff_user):
    api_key, client = issue(staff_user)
    assert_envelope(client.get(URL), 403, "permission_denied")
    assert_envelope(client.get(f"{URL}/{api_key.pk}/usage"), 403, "permission_denied")
    assert_envelope(client.post(URL, {"name": "successor"}), 403, "permission_denied")


# --- Quota and headers ---------------------------------------------------------------


def test_every_key_call_carries_the_rate_limit_headers(staff_user):
    _, client = issue(staff_user, daily_quota=3)
    remaining = []
    for _ in range(3):
        response = client.get("/api/v1/books")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert response["X-RateLimit-Reset"] == str(next_midnight_utc())
        remaining.append(response["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]


def test_over_the_quota_is_429_until_midnight_utc(staff_user):
    api_key, client = issue(staff_user, daily_quota=2)
    assert client.get("/api/v1/books").status_code == 200
    assert client.get("/api/v1/users/me").status_code == 200
    refused = client.get("/api/v1/books")
    assert_envelope(refused, 429, "throttled")
    until_midnight = next_midnight_utc() - int(datetime.now(UTC).timestamp())
    assert abs(int(refused["Retry-After"]) - until_midnight) <= 2
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("2", "0")
    # Refused calls do not count; another key of the same owner has its own quota.
    assert client.get("/api/v1/books").status_code == 429
    assert api_key_usage(api_key=api_key)[0].calls == 2
    _, other = issue(staff_user, daily_quota=2)
    assert other.get("/api/v1/books").status_code == 200


def test_a_key_without_quota_says_unlimited(staff_user):
    _, client = issue(staff_user)
    response = client.get("/api/v1/books")
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "unlimited"
    assert response["X-RateLimit-Remaining"] == "unlimited"
    assert response["X-RateLimit-Reset"] == str(next_midnight_utc())


def test_refused_and_failed_calls_carry_the_headers_too(staff_user):
    _, client = issue(staff_user, scopes=["catalog:read"], daily_quota=10)
    client.get("/api/v1/books")
    out_of_scope = client.get("/api/v1/orders")
    assert out_of_scope.status_code == 403
    assert (out_of_scope["X-RateLimit-Limit"], out_of_scope["X-RateLimit-Remaining"]) == ("10", "9")
    missing = client.get("/api/v1/books/999999")
    assert missing.status_code == 404
    assert missing["X-RateLimit-Remaining"] == "8"
    # Calls without a key, and with an unknown key, carry none.
    assert "X-RateLimit-Limit" not in APIClient().get("/api/v1/books")
    assert "X-RateLimit-Limit" not in key_client("bk_AAAAAAAA_" + "x" * 43).get("/api/v1/books")


def test_the_count_starts_over_each_utc_day(db):
    day_one = datetime.now(UTC).replace(hour=23, minute=59, second=59, microsecond=0)
    day_two = day_one + timedelta(seconds=2)
    states = [quotas.count_call(api_key_id=4242, quota=2, now=day_one) for _ in range(3)]
    assert [state.allowed for state in states] == [True, True, False]
    assert states[0].reset_at == int(day_two.replace(second=0).timestamp())
    assert states[2].retry_after(day_one) == 1
    fresh = quotas.count_call(api_key_id=4242, quota=2, now=day_two)
    assert (fresh.allowed, fresh.used, fresh.remaining) == (True, 1, 1)


def test_concurrent_calls_never_pass_the_quota_together(db):
    allowed = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            state = quotas.count_call(api_key_id=777, quota=37, now=timezone.now())
            with lock:
                allowed.append(state.allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 37
    assert quotas.peek(api_key_id=777, quota=37, now=timezone.now()).used == 37


@pytest.mark.requires_redis
def test_the_quota_is_counted_in_redis_shared_by_every_server(db, settings):
    """With REDIS_URL the counter is a Redis key: another server (another client) sees the same count."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"quota-test-{os.getpid()}",
        }
    }
    import redis

    backend = caches["default"]
    now = timezone.now()
    try:
        for _ in range(3):
            quotas.count_call(api_key_id=9001, quota=5, now=now)
        raw_key = backend.make_and_validate_key(quotas.counter_key(9001, quotas.utc_day(now)))
        other_server = redis.Redis.from_url(url)
        assert int(other_server.get(raw_key)) == 3
        # The counter expires after the day plus the retention that lets the flush job read it.
        ttl = other_server.ttl(raw_key)
        expected = quotas.day_end(quotas.utc_day(now)) + quotas.COUNTER_RETENTION.total_seconds() - now.timestamp()
        assert abs(ttl - expected) <= 2
        # Redis restarted (its script cache empty): the script is loaded again, the call still counted.
        quotas._script_sha[:] = ["0" * 40]
        assert quotas.count_call(api_key_id=9001, quota=5, now=now).used == 4
        other_server.set(raw_key, 5)  # another server used the rest
        assert quotas.count_call(api_key_id=9001, quota=5, now=now).allowed is False
        assert int(other_server.get(raw_key)) == 5
    finally:
        backend.clear()


# --- Usage per day -------------------------------------------------------------------


def test_the_owner_reads_usage_per_day_for_30_days(staff_client, staff_user):
    api_key, client = issue(staff_user)
    for _ in range(4):
        client.get("/api/v1/books")
    today = datetime.now(UTC).date()
    ApiKeyDailyUsage.objects.create(api_key=api_key, day=today - timedelta(days=3), calls=17)
    ApiKeyDailyUsage.objects.create(api_key=api_key, day=today - timedelta(days=30), calls=99)  # too old
    response = staff_client.get(f"{URL}/{api_key.pk}/usage")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == api_key.pk
    assert body["daily_quota"] is None
    days = body["days"]
    assert len(days) == 30
    assert days[0] == {"date": today.isoformat(), "calls": 4}
    assert days[3] == {"date": (today - timedelta(days=3)).isoformat(), "calls": 17}
    assert days[-1]["date"] == (today - timedelta(days=29)).isoformat()
    assert sum(day["calls"] for day in days) == 21


def test_another_members_key_usage_is_404(staff_client):
    other_key, _ = issue(UserFactory(is_staff=True, is_superuser=True))
    assert_envelope(staff_client.get(f"{URL}/{other_key.pk}/usage"), 404, "not_found")


def test_customers_cannot_read_key_usage(staff_user, customer_client):
    api_key, _ = issue(staff_user)
    assert_envelope(customer_client.get(f"{URL}/{api_key.pk}/usage"), 403, "permission_denied")
    assert_envelope(APIClient().get(f"{URL}/{api_key.pk}/usage"), 401, "not_authenticated")


def test_the_flush_job_keeps_each_days_count_in_the_database(staff_user):
    api_key, client = issue(staff_user)
    for _ in range(3):
        client.get("/api/v1/books")
    assert services.api_key_usage_flush() == 1
    today = datetime.now(UTC).date()
    assert ApiKeyDailyUsage.objects.get(api_key=api_key, day=today).calls == 3
    client.get("/api/v1/books")
    services.api_key_usage_flush()
    services.api_key_usage_flush()  # twice changes nothing
    assert ApiKeyDailyUsage.objects.get(api_key=api_key, day=today).calls == 4
    # Once the counters are gone (expired, or Redis lost), the stored history still answers and never shrinks.
    cache.clear()
    assert services.api_key_usage_flush() == 0
    assert api_key_usage(api_key=api_key)[0].calls == 4


def test_yesterdays_final_count_is_flushed_after_midnight(staff_user):
    api_key, _ = issue(staff_user)
    yesterday_late = datetime.now(UTC).replace(hour=23, minute=59, second=0, microsecond=0) - timedelta(days=1)
    for _ in range(2):
        quotas.count_call(api_key_id=api_key.pk, quota=None, now=yesterday_late)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=yesterday_late)
    services.api_key_usage_flush()
    assert ApiKeyDailyUsage.objects.get(api_key=api_key, day=yesterday_late.date()).calls == 2


def test_the_admin_change_page_shows_usage_per_day(staff_user):
    api_key, client = issue(staff_user, scopes=["catalog:read"], daily_quota=50)
    for _ in range(2):
        client.get("/api/v1/books")
    ApiKeyDailyUsage.objects.create(api_key=api_key, day=date.today() - timedelta(days=2), calls=11)
    admin = Client()
    admin.force_login(staff_user)
    page = admin.get(f"/admin/accounts/apikey/{api_key.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Calls per UTC day, last 30 days" in html
    assert f"<td>{datetime.now(UTC).date().isoformat()}</td><td>2</td>" in html
    assert "Total: 13" in html
    assert "catalog:read" in html


def test_the_admin_issues_a_scoped_key_with_a_quota(staff_user):
    admin = Client()
    admin.force_login(staff_user)
    response = admin.post(
        "/admin/accounts/apikey/add/",
        {"name": "feed", "owner": staff_user.pk, "scopes": ["orders:read"], "daily_quota": "100"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = ApiKey.objects.get(name="feed")
    assert (stored.scopes, stored.daily_quota) == (["orders:read"], 100)
