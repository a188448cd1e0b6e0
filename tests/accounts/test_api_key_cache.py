"""Usable API keys in the shared cache (``accounts.key_cache``): one Redis round trip, no query, revocation at once.

Every test here runs against a real Redis (``REDIS_URL``, else db 15 on
127.0.0.1) with a key prefix of its own; "another server" is another cache
client or another process on the same Redis and database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import key_cache, quotas, services
from accounts.models import ApiKey
from tests.factories import BookFactory
from tests.helpers import assert_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.requires_redis]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
ME_URL = "/api/v1/users/me"


def _redis_caches(prefix: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }


@pytest.fixture
def cache_prefix(settings: Any) -> Iterator[str]:
    """The default cache is Redis, under a key prefix of this test's own."""
    prefix = f"keycache-test-{uuid.uuid4().hex}"
    settings.CACHES = _redis_caches(prefix)
    yield prefix
    raw = redis.Redis.from_url(REDIS_URL)
    for name in raw.scan_iter(f"{prefix}:*"):
        raw.delete(name)


@pytest.fixture
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The commands the code sends to Redis (they are still sent)."""
    sent: list[str] = []
    original = redis.Redis.execute_command

    def recording(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", recording)
    return sent


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _record(prefix: str, api_key: ApiKey) -> dict[bytes, bytes]:
    backend = caches["default"]
    return redis.Redis.from_url(REDIS_URL).hgetall(backend.make_key(f"apikey-auth:{key_cache.SCHEMA}:{api_key.prefix}"))


def test_a_key_call_costs_no_query_and_one_redis_round_trip(cache_prefix, staff_user, redis_commands, settings):
    """The benchmark's request (a book's page) with a key costs what it costs anonymously, plus one EVALSHA."""
    # Both read the database: the anonymous request must not be answered from the stored catalog documents.
    settings.CATALOG_CACHE_SECONDS = 0
    book = BookFactory()
    path = f"/api/v1/books/{book.pk}"
    created = services.api_key_create(owner=staff_user, name="feed", daily_quota=100)
    client = key_client(created.key)
    anonymous = APIClient()
    anonymous.get(path)
    with CaptureQueriesContext(connection) as anonymous_queries:
        assert anonymous.get(path).status_code == 200
    # The first call reads the key from the database and caches it.
    assert client.get(path).status_code == 200
    assert _record(cache_prefix, created.api_key)[b"id"] == str(created.api_key.pk).encode()
    for expected_remaining in ("98", "97"):
        redis_commands.clear()
        with CaptureQueriesContext(connection) as key_queries:
            response = client.get(path)
        assert response.status_code == 200
        assert response["X-RateLimit-Remaining"] == expected_remaining
        assert response["Cache-Control"] == "no-store"
        assert redis_commands == ["EVALSHA"]
        assert [q["sql"] for q in key_queries] == [q["sql"] for q in anonymous_queries]
    usage = quotas.peek(api_key_id=created.api_key.pk, quota=100, now=timezone.now())
    assert usage is not None
    assert usage.used == 3


def test_the_cached_key_acts_as_its_owner_and_loads_the_password_only_when_asked(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="me")
    client = key_client(created.key)
    assert client.get(ME_URL).json()["id"] == staff_user.pk
    assert b"argon2" not in _record(cache_prefix, created.api_key)[b"data"]  # no password hash in Redis
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).json()["email"] == staff_user.email
    assert queries.captured_queries == []


def test_revocation_on_another_server_is_immediate(cache_prefix, staff_user, settings):
    """Server A caches the key; server B (its own Redis client) revokes it; A's next call is refused."""
    created = services.api_key_create(owner=staff_user, name="revoked elsewhere")
    client = key_client(created.key)
    assert client.get(ME_URL).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200  # served from the cache
    assert queries.captured_queries == []
    server_a = caches["default"]
    settings.CACHES = _redis_caches(cache_prefix)  # server B: another backend, another connection
    server_b = caches["default"]
    assert server_b is not server_a
    staff_client = APIClient()
    staff_client.force_authenticate(staff_user)
    assert staff_client.delete(f"/api/v1/api-keys/{created.api_key.pk}").status_code == 204
    settings.CACHES = _redis_caches(cache_prefix)  # back on a server that had the key cached
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


@pytest.mark.requires_postgres
@pytest.mark.slow
def test_revocation_in_another_process_is_immediate(cache_prefix, transactional_db, staff_user):
    """Another process (its own Django, its own Redis connection) revokes; this one refuses the next call."""
    if connection.vendor != "postgresql":
        pytest.skip("the other process needs the test database on a server (PostgreSQL)")
    created = services.api_key_create(owner=staff_user, name="revoked by a process")
    client = key_client(created.key)
    assert client.get(ME_URL).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200
    assert queries.captured_queries == []
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": cache_prefix,
        "DEBUG": "true",
    }
    script = (
        "import django; django.setup()\n"
        "from accounts.models import ApiKey\n"
        "from accounts.services import api_key_revoke\n"
        f"api_key_revoke(api_key=ApiKey.objects.get(pk={created.api_key.pk}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


def test_a_copy_read_before_the_revocation_is_never_cached_after_it(cache_prefix, staff_user):
    """A request that read the key just before it was revoked cannot store its stale copy (the tombstone)."""
    created = services.api_key_create(owner=staff_user, name="raced")
    stale = ApiKey.objects.select_related("owner").get(pk=created.api_key.pk)
    services.api_key_revoke(api_key=created.api_key)
    key_cache.store(api_key=stale, now=timezone.now())
    assert b"id" not in _record(cache_prefix, created.api_key)
    assert_envelope(key_client(created.key).get(ME_URL), 401, "not_authenticated")


@pytest.mark.parametrize("how", ["deactivate", "demote", "erase", "delete owner", "delete key"])
def test_keys_stop_at_once_when_the_owner_or_key_changes(cache_prefix, staff_user, how):
    created = services.api_key_create(owner=staff_user, name="changing")
    client = key_client(created.key)
    assert client.get(ME_URL).status_code == 200
    assert _record(cache_prefix, created.api_key)
    if how == "deactivate":
        services.user_deactivate(user=staff_user)
    elif how == "demote":
        staff_user.is_staff = False
        staff_user.save(update_fields=["is_staff"])
    elif how == "erase":
        from accounts.personal_data import user_erase

        user_erase(user=staff_user, by=None)
    elif how == "delete owner":
        staff_user.delete()
    else:
        created.api_key.delete()
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


def test_a_sign_in_does_not_forget_the_owners_keys(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="kept")
    assert key_client(created.key).get(ME_URL).status_code == 200
    staff_user.last_login = timezone.now()
    staff_user.save(update_fields=["last_login"])
    assert _record(cache_prefix, created.api_key)[b"id"] == str(created.api_key.pk).encode()


def test_changed_scopes_and_quota_apply_to_the_next_call(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="narrowed", daily_quota=50)
    client = key_client(created.key)
    assert client.get("/api/v1/orders").status_code == 200
    assert client.get("/api/v1/orders")["X-RateLimit-Limit"] == "50"
    api_key = created.api_key
    api_key.scopes = ["catalog:read"]
    api_key.daily_quota = 10
    api_key.save()  # as the admin's change form does
    refused = client.get("/api/v1/orders")
    assert_envelope(refused, 403, "permission_denied")
    assert refused["X-RateLimit-Limit"] == "10"
    assert client.get("/api/v1/books")["X-RateLimit-Remaining"] == "7"  # 2 calls before, this one


def test_a_key_expires_on_time_while_cached(cache_prefix, staff_user):
    expires_at = timezone.now() + timedelta(seconds=1.5)
    created = services.api_key_create(owner=staff_user, name="short", expires_at=expires_at)
    client = key_client(created.key)
    assert client.get(ME_URL).status_code == 200
    assert _record(cache_prefix, created.api_key)
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.05)
    assert_envelope(client.get(ME_URL), 401, "not_authenticated")


def test_a_wrong_secret_with_a_cached_prefix_is_401_and_not_counted(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="guessed", daily_quota=5)
    assert key_client(created.key).get(ME_URL).status_code == 200
    prefix, secret = created.key.split("_", 2)[1:]
    forged = key_client(f"bk_{prefix}_{'A' * len(secret)}")
    for _ in range(3):
        assert_envelope(forged.get(ME_URL), 401, "not_authenticated")
    usage = quotas.peek(api_key_id=created.api_key.pk, quota=5, now=timezone.now())
    assert usage is not None
    assert usage.used == 1


def test_scope_and_quota_refusals_from_the_cache(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="tight", scopes=["catalog:read"], daily_quota=2)
    client = key_client(created.key)
    assert client.get("/api/v1/books").status_code == 200  # cached now
    out_of_scope = client.get("/api/v1/orders")
    assert_envelope(out_of_scope, 403, "permission_denied")
    assert out_of_scope["X-RateLimit-Remaining"] == "1"  # refused, not counted
    assert_envelope(client.get(ME_URL), 403, "permission_denied")  # the account's own route: every scope
    assert client.get("/api/v1/books").status_code == 200
    over = client.get("/api/v1/books")
    assert_envelope(over, 429, "throttled")
    assert over["X-RateLimit-Remaining"] == "0"
    assert int(over["Retry-After"]) >= 1


def test_last_used_at_is_written_once_a_minute_from_the_cache(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="used")
    client = key_client(created.key)
    assert client.get(ME_URL).status_code == 200  # from the database: writes last_used_at
    created.api_key.refresh_from_db()
    first_use = created.api_key.last_used_at
    assert first_use is not None
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200  # within the minute (on any server): no write
    assert queries.captured_queries == []
    # A minute later (the Redis marker has expired) the first call writes it again, once.
    backend = caches["default"]
    redis.Redis.from_url(REDIS_URL).delete(backend.make_key(f"apikey-used:{created.api_key.pk}"))
    ApiKey.objects.filter(pk=created.api_key.pk).update(last_used_at=first_use - timedelta(seconds=61))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("UPDATE")
    created.api_key.refresh_from_db()
    assert created.api_key.last_used_at is not None
    assert created.api_key.last_used_at >= first_use
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200
    assert queries.captured_queries == []


def test_an_unreadable_record_is_dropped_and_the_database_answers(cache_prefix, staff_user):
    created = services.api_key_create(owner=staff_user, name="garbled")
    client = key_client(created.key)
    assert client.get(ME_URL).status_code == 200
    record = caches["default"].make_key(f"apikey-auth:{key_cache.SCHEMA}:{created.api_key.prefix}")
    redis.Redis.from_url(REDIS_URL).hset(record, "data", b"not a pickle")
    assert client.get(ME_URL).json()["id"] == staff_user.pk
    assert b"id" not in _record(cache_prefix, created.api_key)  # a tombstone now


def test_the_last_used_window_matches_the_services(cache_prefix):
    assert timedelta(seconds=key_cache.LAST_USED_SECONDS) == services.API_KEY_LAST_USED_RESOLUTION


def test_an_unreachable_cache_falls_back_to_the_database(settings, staff_user):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    created = services.api_key_create(owner=staff_user, name="no redis")
    response = key_client(created.key).get(ME_URL)
    assert response.status_code == 200
    services.api_key_revoke(api_key=created.api_key)
    assert_envelope(key_client(created.key).get(ME_URL), 401, "not_authenticated")
