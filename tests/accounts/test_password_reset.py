"""Password reset by an emailed one-time link: no enumeration, rate limits, works once, expires, signs out."""

from __future__ import annotations

import gc
import html
import re
import statistics
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.services import PASSWORD_RESET_TASK, PASSWORD_RESET_TEMPLATE
from accounts.tasks import password_reset_email
from notifications.models import Email
from notifications.services import Outcome, email_deliver
from tests.accounts.conftest import bearer
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.smtp import parts

pytestmark = pytest.mark.django_db

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "An0ther-Long-Passphrase!"
LINK = re.compile(r"https?://\S+")


def run_reset_tasks(sent_tasks: list[tuple[str, dict[str, Any]]]) -> None:
    """Do what a worker does with the reset tasks the requests sent."""
    for name, kwargs in sent_tasks:
        if name == PASSWORD_RESET_TASK:
            password_reset_email(**kwargs)
    sent_tasks.clear()


def reset_emails() -> list[Email]:
    return list(Email.objects.filter(template=PASSWORD_RESET_TEMPLATE).order_by("id"))


def link_params(email: Email) -> dict[str, str]:
    [link] = LINK.findall(email.body_text)
    query = parse_qs(urlsplit(link).query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


def request_link(client: APIClient, user: Any, sent_tasks: Any) -> dict[str, str]:
    assert client.post(RESET, {"email": user.email}).status_code == 204
    run_reset_tasks(sent_tasks)
    return link_params(reset_emails()[-1])


def test_known_and_unknown_emails_get_the_same_answer_and_only_the_known_one_an_email(api_client, sent_tasks):
    user = UserFactory(email="reader@example.com")
    known = api_client.post(RESET, {"email": "Reader@Example.com"})
    unknown = api_client.post(RESET, {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 204
    assert known.content == unknown.content == b""
    assert sorted(kwargs["email"] for _, kwargs in sent_tasks) == ["nobody@example.com", "reader@example.com"]
    assert reset_emails() == []  # nothing is looked up or queued while the request runs
    run_reset_tasks(sent_tasks)
    [email] = reset_emails()
    assert email.to == user.email


def test_inactive_accounts_get_no_email(api_client, sent_tasks):
    UserFactory(email="gone@example.com", is_active=False)
    assert api_client.post(RESET, {"email": "gone@example.com"}).status_code == 204
    run_reset_tasks(sent_tasks)
    assert reset_emails() == []


def test_the_link_points_at_the_frontend(api_client, sent_tasks, settings):
    settings.FRONTEND_URL = "https://books.example"
    settings.PASSWORD_RESET_PATH = "/account/new-password"
    user = UserFactory()
    request_link(api_client, user, sent_tasks)
    [email] = reset_emails()
    [link] = LINK.findall(email.body_text)
    assert link.startswith("https://books.example/account/new-password?uid=")
    assert link in html.unescape(email.body_html)
    assert "60 minutes" in email.body_text


def test_a_malformed_email_is_a_validation_error(api_client):
    response = api_client.post(RESET, {"email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["details"]


def test_the_link_sets_a_new_password_and_signs_out_everywhere(api_client, sent_tasks, obtain_tokens):
    user = UserFactory()
    tokens = obtain_tokens(user)
    params = request_link(api_client, user, sent_tasks)

    response = api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD})

    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}).status_code == 401
    assert bearer(tokens["access"]).get("/api/v1/users/me").status_code == 401
    assert obtain_tokens(user, NEW_PASSWORD)["access"]


def test_the_link_works_once(api_client, sent_tasks):
    user = UserFactory()
    params = request_link(api_client, user, sent_tasks)
    assert api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD}).status_code == 204

    again = api_client.post(CONFIRM, {**params, "new_password": "Yet-An0ther-Passphrase!"})

    assert again.status_code == 400
    assert again.json()["error"]["details"]["token"]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def _token_made_seconds_ago(user: Any, seconds: int) -> dict[str, str]:
    generator = default_token_generator
    timestamp = generator._num_seconds(generator._now()) - seconds
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": generator._make_token_with_timestamp(user, timestamp, generator.secret),
    }


def test_the_link_expires_after_an_hour(api_client):
    user = UserFactory()
    expired = api_client.post(CONFIRM, {**_token_made_seconds_ago(user, 3601), "new_password": NEW_PASSWORD})
    assert expired.status_code == 400
    assert expired.json()["error"]["details"]["token"]
    fresh = api_client.post(CONFIRM, {**_token_made_seconds_ago(user, 3500), "new_password": NEW_PASSWORD})
    assert fresh.status_code == 204


def test_the_expiry_follows_the_setting(api_client, settings):
    settings.PASSWORD_RESET_TIMEOUT = 600
    user = UserFactory()
    response = api_client.post(CONFIRM, {**_token_made_seconds_ago(user, 601), "new_password": NEW_PASSWORD})
    assert response.status_code == 400


def test_a_refused_password_keeps_the_link_usable(api_client, sent_tasks):
    user = UserFactory()
    params = request_link(api_client, user, sent_tasks)
    weak = api_client.post(CONFIRM, {**params, "new_password": "123"})
    assert weak.status_code == 400
    assert weak.json()["error"]["details"]["new_password"]
    assert api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD}).status_code == 204


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "!!!",
        urlsafe_base64_encode(b"abc"),
        urlsafe_base64_encode(b"9" * 30),
        urlsafe_base64_encode(b"-1"),
        urlsafe_base64_encode(b"\xff\xfe"),
        "x" * 64,
    ],
)
def test_malformed_links_are_refused_without_failing(api_client, uid):
    user = UserFactory()
    token = default_token_generator.make_token(user)
    response = api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) <= {"uid", "token"}


def test_another_users_token_is_refused(api_client):
    user, other = UserFactory(), UserFactory()
    params = {"uid": urlsafe_base64_encode(force_bytes(other.pk)), "token": default_token_generator.make_token(user)}
    assert api_client.post(CONFIRM, {**params, "new_password": NEW_PASSWORD}).status_code == 400


def test_requests_are_limited_per_client_address(api_client, settings):
    settings.AUTH_RATE_LIMIT = "3/minute"
    statuses = [api_client.post(RESET, {"email": f"user{n}@example.com"}).status_code for n in range(4)]
    assert statuses == [204, 204, 204, 429]
    other_address = api_client.post(RESET, {"email": "user9@example.com"}, REMOTE_ADDR="192.0.2.7")
    assert other_address.status_code == 204


@pytest.mark.parametrize("registered", [True, False])
def test_requests_are_limited_per_target_email_from_any_address(api_client, settings, registered):
    settings.PASSWORD_RESET_EMAIL_RATE_LIMIT = "2/hour"
    if registered:
        UserFactory(email="target@example.com")
    statuses = [
        api_client.post(RESET, {"email": email}, REMOTE_ADDR=f"192.0.2.{n}").status_code
        for n, email in enumerate(["target@example.com", "TARGET@example.com", "target@example.com"])
    ]
    assert statuses == [204, 204, 429]
    assert api_client.post(RESET, {"email": "else@example.com"}, REMOTE_ADDR="192.0.2.99").status_code == 204


def test_the_emailed_link_works_once_through_a_real_smtp_server(api_client, sent_tasks, smtp_server):
    user = UserFactory(email="reader@example.com")
    assert api_client.post(RESET, {"email": user.email}).status_code == 204
    run_reset_tasks(sent_tasks)
    [email] = reset_emails()
    assert email_deliver(email_id=email.pk) is Outcome.SENT

    [message] = smtp_server.wait_for(1, timeout=10)
    assert message["To"] == "reader@example.com"
    text, body_html = parts(message)
    [link] = LINK.findall(text)
    assert link in html.unescape(body_html)
    query = parse_qs(urlsplit(link).query)
    params = {"uid": query["uid"][0], "token": query["token"][0], "new_password": NEW_PASSWORD}
    assert api_client.post(CONFIRM, params).status_code == 204
    assert api_client.post(CONFIRM, {**params, "new_password": "Yet-An0ther-Passphrase!"}).status_code == 400
    assert api_client.post("/api/v1/auth/token", {"email": user.email, "password": NEW_PASSWORD}).status_code == 200
    assert api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 401


# --- Timing: the answer takes as long for an unknown email as for a known one -----------

SAMPLES = 50
ROUNDS = 3  # a round disturbed by the machine's other work is measured again
MAX_DIFFERENCE = 0.20


def _median_times(client: APIClient, known: list[str], unknown: list[str]) -> tuple[float, float]:
    """Medians of SAMPLES requests each, interleaved (alternating which goes first) so both see the same load."""
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(SAMPLES):
        pair = [("known", known[n % len(known)]), ("unknown", unknown[n % len(unknown)])]
        for kind, email in pair if n % 2 else reversed(pair):
            start = time.perf_counter()
            response = client.post(RESET, {"email": email})
            times[kind].append(time.perf_counter() - start)
            assert response.status_code == 204
    return statistics.median(times["known"]), statistics.median(times["unknown"])


def test_known_and_unknown_emails_take_the_same_time(api_client, settings, sent_tasks):
    """Medians of 50 known-email and 50 unknown-email requests differ by less than 20 %."""
    settings.AUTH_RATE_LIMIT = "100000/minute"
    settings.PASSWORD_RESET_EMAIL_RATE_LIMIT = "100000/minute"
    known = [UserFactory(email=f"known{n}@example.com").email for n in range(5)]
    unknown = [f"unknown{n}@example.com" for n in range(5)]
    for email in known + unknown:  # warm up: imports, templates, cache connections
        api_client.post(RESET, {"email": email})

    results = []
    gc.disable()
    try:
        for _ in range(ROUNDS):
            known_median, unknown_median = _median_times(api_client, known, unknown)
            difference = abs(known_median - unknown_median) / min(known_median, unknown_median)
            results.append((difference, known_median, unknown_median))
            if difference < MAX_DIFFERENCE:
                break
    finally:
        gc.enable()

    difference, known_median, unknown_median = results[-1]
    assert difference < MAX_DIFFERENCE, [
        f"known {k * 1000:.2f} ms, unknown {u * 1000:.2f} ms ({d:.0%})" for d, k, u in results
    ]
    # The known emails really got their links (sent in the background).
    run_reset_tasks(sent_tasks)
    assert {email.to for email in reset_emails()} == set(known)
