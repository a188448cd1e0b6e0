"""Auth rate limits per client address (API.md, "Accounts and auth" and "Errors")."""

from __future__ import annotations

import logging
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from accounts.throttling import SharedCacheRateThrottle, client_ip
from tests.accounts.conftest import bearer
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
WRONG_LOGIN = {"email": "nobody@example.com", "password": "wrong-password"}


def _exhaust(client, limit: int, **extra) -> None:
    for attempt in range(limit):
        response = client.post(TOKEN_URL, WRONG_LOGIN, **extra)
        assert response.status_code == 401, (attempt, response.content)


# --- client_ip ------------------------------------------------------------------------


def _request(remote: str = "203.0.113.7", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(TRUSTED_PROXY_COUNT=0)
def test_client_ip_ignores_forwarded_for_without_trusted_proxies():
    assert client_ip(_request(forwarded="198.51.100.1")) == "203.0.113.7"
    assert client_ip(_request()) == "203.0.113.7"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_client_ip_with_one_proxy_takes_the_rightmost_entry():
    assert client_ip(_request(remote="10.0.0.2", forwarded="198.51.100.1")) == "198.51.100.1"
    # Entries the client sent itself sit left of what the proxy appended.
    assert client_ip(_request(remote="10.0.0.2", forwarded="1.2.3.4, 5.6.7.8, 198.51.100.1")) == "198.51.100.1"


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_client_ip_with_two_proxies_takes_the_second_entry_from_the_right():
    assert client_ip(_request(remote="10.0.0.3", forwarded="1.2.3.4,198.51.100.1, 10.0.0.2")) == "198.51.100.1"


@pytest.mark.parametrize(
    "forwarded",
    ["", "198.51.100.1", "not-an-ip, 10.0.0.2", "198.51.100.1:4711, 10.0.0.2"],
)
@override_settings(TRUSTED_PROXY_COUNT=2)
def test_client_ip_falls_back_to_the_peer_when_the_header_cannot_be_trusted(forwarded):
    assert client_ip(_request(remote="10.0.0.3", forwarded=forwarded)) == "10.0.0.3"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_client_ip_normalizes_ipv6():
    assert client_ip(_request(remote="10.0.0.2", forwarded="2001:DB8:0:0::1")) == "2001:db8::1"


# --- The limit ---------------------------------------------------------------------------


@override_settings(AUTH_RATE_LIMIT="3/minute")
def test_over_the_limit_is_429_with_retry_after(api_client):
    _exhaust(api_client, 3)
    response = api_client.post(TOKEN_URL, WRONG_LOGIN)
    assert_envelope(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_default_limit_is_ten_per_minute(api_client):
    _exhaust(api_client, 10)
    assert_envelope(api_client.post(TOKEN_URL, WRONG_LOGIN), 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="2/minute")
def test_rate_is_read_from_settings_at_request_time(api_client):
    _exhaust(api_client, 2)
    assert_envelope(api_client.post(TOKEN_URL, WRONG_LOGIN), 429, "throttled")
    with override_settings(AUTH_RATE_LIMIT="5/minute"):
        # The same window with three requests counted (the refused one too), now room for two more.
        _exhaust(api_client, 2)
        assert_envelope(api_client.post(TOKEN_URL, WRONG_LOGIN), 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="2/minute")
def test_successful_logins_count_too(api_client, user):
    for _ in range(2):
        assert api_client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 200
    assert_envelope(api_client.post(TOKEN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}), 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="2/minute")
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/auth/register", {"email": "x@example.com", "password": "short"}),
        ("/api/v1/auth/token", WRONG_LOGIN),
        ("/api/v1/auth/token/refresh", {"refresh": "garbage"}),
    ],
)
def test_every_public_auth_endpoint_is_limited(api_client, url, body):
    for _ in range(2):
        assert api_client.post(url, body).status_code in {400, 401}
    assert_envelope(api_client.post(url, body), 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="2/minute")
def test_password_change_is_limited(customer_client):
    body = {"current_password": "wrong-guess", "new_password": "violet-harbour-compass-77"}
    for _ in range(2):
        assert_envelope(customer_client.post("/api/v1/users/me/password", body), 400, "validation_error")
    assert_envelope(customer_client.post("/api/v1/users/me/password", body), 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="1/minute")
def test_endpoints_share_one_budget_per_address(api_client):
    assert api_client.post(TOKEN_URL, WRONG_LOGIN).status_code == 401
    assert_envelope(api_client.post("/api/v1/auth/token/refresh", {"refresh": "x"}), 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="1/minute")
def test_other_endpoints_are_not_limited(api_client, obtain_tokens, user):
    tokens = obtain_tokens(user)
    client = bearer(tokens["access"])
    for _ in range(3):
        assert client.get("/api/v1/users/me").status_code == 200
    assert client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}).status_code == 204


@override_settings(AUTH_RATE_LIMIT="2/minute", TRUSTED_PROXY_COUNT=0)
def test_forged_forwarded_for_does_not_reset_the_count(api_client):
    for n in range(2):
        response = api_client.post(TOKEN_URL, WRONG_LOGIN, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 401
    for n in range(2, 5):
        response = api_client.post(TOKEN_URL, WRONG_LOGIN, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert_envelope(response, 429, "throttled")


@override_settings(AUTH_RATE_LIMIT="2/minute")
def test_addresses_are_counted_separately(api_client):
    _exhaust(api_client, 2, REMOTE_ADDR="192.0.2.1")
    assert_envelope(api_client.post(TOKEN_URL, WRONG_LOGIN, REMOTE_ADDR="192.0.2.1"), 429, "throttled")
    assert api_client.post(TOKEN_URL, WRONG_LOGIN, REMOTE_ADDR="192.0.2.2").status_code == 401


@override_settings(AUTH_RATE_LIMIT="2/minute", TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_rightmost_forwarded_entry_is_the_client(api_client):
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # The client forges the left part; the proxy appended 198.51.100.9 on the right.
    for forged in ("1.1.1.1", "2.2.2.2"):
        response = api_client.post(TOKEN_URL, WRONG_LOGIN, HTTP_X_FORWARDED_FOR=f"{forged}, 198.51.100.9", **proxy)
        assert response.status_code == 401
    response = api_client.post(TOKEN_URL, WRONG_LOGIN, HTTP_X_FORWARDED_FOR="3.3.3.3, 198.51.100.9", **proxy)
    assert_envelope(response, 429, "throttled")
    # Another client behind the same proxy has its own budget.
    response = api_client.post(TOKEN_URL, WRONG_LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.10", **proxy)
    assert response.status_code == 401


@override_settings(AUTH_RATE_LIMIT="2/second")
def test_the_limit_lifts_when_the_window_ends(api_client):
    _exhaust(api_client, 2)
    response = api_client.post(TOKEN_URL, WRONG_LOGIN)
    assert_envelope(response, 429, "throttled")
    assert response["Retry-After"] == "1"
    # The window is one second long; nothing but the passing of time can end it.
    deadline = time.monotonic() + 5
    while api_client.post(TOKEN_URL, WRONG_LOGIN).status_code == 429:
        assert time.monotonic() < deadline, "the limit never lifted"
        time.sleep(0.2)


@override_settings(
    AUTH_RATE_LIMIT="1/minute",
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on port 1: every cache call fails at once.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    },
)
def test_limits_fail_open_when_the_cache_is_unreachable(api_client, caplog):
    with caplog.at_level(logging.WARNING, logger="accounts.throttling"):
        for _ in range(3):
            assert_envelope(api_client.post(TOKEN_URL, WRONG_LOGIN), 401, "not_authenticated")
    warnings = [record for record in caplog.records if record.name == "accounts.throttling"]
    assert len(warnings) == 3
    assert all(record.levelno == logging.WARNING for record in warnings)


# --- one round trip on Redis ------------------------------------------------------------


def _redis_or_skip():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(caches["default"], RedisCache):
        pytest.skip("the counting script runs only with Redis as the cache (REDIS_URL)")


class _Limit(SharedCacheRateThrottle):
    scope = "script-test"
    rate = "3/minute"

    def get_rate(self) -> str:
        return self.rate


def _stepwise(throttle: SharedCacheRateThrottle, key: str, now: float) -> tuple[int, float]:
    """The same count without the script (as on a cache that is not Redis)."""
    with mock.patch("accounts.throttling._count_in_redis", return_value=None):
        return throttle._count_request(key, now)


@pytest.mark.parametrize("first_now", [1_764_512_345.123, 1_764_512_345])
def test_the_script_and_the_stepwise_count_share_one_window(first_now):
    """Either path opens, reads and counts the window in the same keys and values as the other."""
    _redis_or_skip()
    throttle = _Limit()
    key = f"throttle:script-test:{first_now}"
    # The script opens the window; the step-by-step path counts in it, then the script again.
    assert throttle._count_request(key, first_now) == (1, first_now)
    assert cache.get(f"{key}:start") == first_now
    assert _stepwise(throttle, key, first_now + 1.5) == (2, first_now)
    assert throttle._count_request(key, first_now + 2.25) == (3, first_now)
    assert cache.get(f"{key}:{int(first_now * 1000)}") == 3
    # A window opened step by step is continued by the script.
    other = f"{key}:other"
    assert _stepwise(throttle, other, first_now) == (1, first_now)
    assert throttle._count_request(other, first_now + 7.5) == (2, first_now)
    # The counter expires a little after the window (both paths give it the same lifetime).
    from bookstore.cache import default_redis

    client, backend = default_redis()
    assert 60 < client.ttl(backend.make_key(f"{key}:{int(first_now * 1000)}")) <= 65
    assert 0 < client.ttl(backend.make_key(f"{key}:start")) <= 60


def test_the_script_counts_in_one_round_trip(api_client):
    _redis_or_skip()
    from bookstore.cache import default_redis

    client, _backend = default_redis()
    throttle = _Limit()
    with mock.patch.object(client, "execute_command", wraps=client.execute_command) as calls:
        for expected in (1, 2, 3, 4):
            assert throttle._count_request("throttle:script-test:trips", 1_000_000.5)[0] == expected
    assert calls.call_count == 4
    # Over the limit once more than the rate allows, as before.
    assert throttle.num_requests == 3


def test_a_start_the_script_cannot_read_falls_back_to_the_stepwise_count():
    """A start stored in another pickle format is still read (by the step-by-step path)."""
    import pickle

    from bookstore.cache import default_redis

    _redis_or_skip()
    client, backend = default_redis()
    throttle = _Limit()
    key = "throttle:script-test:odd"
    client.set(backend.make_key(f"{key}:start"), pickle.dumps(1_000.25, protocol=2), ex=60)
    assert throttle._count_request(key, 1_010.0) == (1, 1_000.25)
    assert throttle._count_request(key, 1_011.0) == (2, 1_000.25)
    assert cache.get(f"{key}:1000250") == 2
