"""Failed logins to the admin are throttled per client address, on the API auth endpoints' budget."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts import throttling
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AUTH_RATE_LIMIT = "3/minute"
    settings.TRUSTED_PROXY_COUNT = 0


def _attempt(client: Client, email: str, password: str, address: str = "203.0.113.7", **extra):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address, **extra)


def test_repeated_failed_logins_are_refused_with_429_even_with_the_right_password(staff):
    client = Client()
    for _ in range(3):
        response = _attempt(client, staff.email, "wrong-password")
        assert response.status_code == 200  # the form again, with its error
        assert response.context["form"].errors

    refused = _attempt(client, staff.email, DEFAULT_PASSWORD)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session  # the password was never checked
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_the_limit_is_per_client_address(staff):
    attacker, colleague = Client(), Client()
    for _ in range(4):
        _attempt(attacker, staff.email, "wrong-password", address="198.51.100.1")
    assert _attempt(attacker, staff.email, DEFAULT_PASSWORD, address="198.51.100.1").status_code == 429

    response = _attempt(colleague, staff.email, DEFAULT_PASSWORD, address="198.51.100.2")

    assert response.status_code == 302
    assert colleague.get("/admin/").status_code == 200


def test_forged_forwarded_for_headers_do_not_reset_the_count(staff):
    client = Client()
    statuses = [
        _attempt(client, staff.email, "wrong-password", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def test_behind_a_trusted_proxy_the_forwarded_client_address_counts(staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client()
    for _ in range(3):
        _attempt(client, staff.email, "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert (
        _attempt(client, staff.email, "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code
        == 429
    )
    # Another client behind the same proxy still logs in.
    other = _attempt(Client(), staff.email, DEFAULT_PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.10")
    assert other.status_code == 302


def test_admin_and_api_logins_share_one_budget_and_the_form_stays_readable(staff, api_client):
    client = Client()
    for _ in range(4):
        _attempt(client, staff.email, "wrong-password", address="127.0.0.1")
    assert client.get(LOGIN, REMOTE_ADDR="127.0.0.1").status_code == 200

    # One budget per address for every way in (tests/security/test_hardening.py).
    token = api_client.post(
        "/api/v1/auth/token",
        {"email": staff.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="127.0.0.1",
    )
    assert token.status_code == 429


def test_fails_open_with_a_warning_when_the_cache_is_down(staff, monkeypatch, caplog):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(throttling.cache, "add", unreachable)
    # With Redis the count is one script call, which fails the same way.
    monkeypatch.setattr(throttling, "_count_in_redis", unreachable)
    client = Client()
    with caplog.at_level(logging.WARNING, logger="accounts.throttling"):
        for _ in range(4):
            assert _attempt(client, staff.email, "wrong-password").status_code == 200
        assert _attempt(client, staff.email, DEFAULT_PASSWORD).status_code == 302
    assert any("rate limit not enforced" in record.getMessage() for record in caplog.records)
