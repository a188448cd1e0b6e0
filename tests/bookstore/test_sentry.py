"""Errors reach Sentry (a local HTTP endpoint standing in for it) without personal data."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bookstore.sentry import scrub_event
from tests.reliability.harness import ROOT, AppServer, server_env, wait_until

EMAIL = "alice.customer@example.com"
TOKEN = "eyJhbGciOi.secret-bearer-token.xyz"
SESSION = "sessionid-value-0123456789"


class SentryStub:
    """Receives envelopes the way sentry.io does (POST /api/<project>/envelope/) and keeps them."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.startswith("/api/1/envelope/"):
                    stub.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/1"

    def events(self) -> list[dict]:
        """The error events received so far (envelope items of type ``event``)."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture
def sentry_stub() -> Iterator[SentryStub]:
    stub = SentryStub()
    stub.thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


@pytest.mark.slow
def test_server_errors_reach_sentry_without_personal_data(sentry_stub, tmp_path):
    env = server_env(
        database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis="",
        settings="tests.bookstore.sentry_settings",
        CACHE_DIR=str(tmp_path / "cache"),
        SENTRY_DSN=sentry_stub.dsn,
        SENTRY_ENVIRONMENT="test",
    )
    server = AppServer(env=env, log_path=tmp_path / "gunicorn.log", workers=1)
    server.start()
    try:
        headers = {"Authorization": f"Bearer {TOKEN}", "Cookie": f"sessionid={SESSION}"}
        api = requests.post(
            f"{server.url}/api/v1/_probe/sentry?email={EMAIL}", json={"email": EMAIL}, headers=headers, timeout=10
        )
        assert api.status_code == 500
        page = requests.get(f"{server.url}/_probe/sentry", params={"email": EMAIL}, headers=headers, timeout=10)
        assert page.status_code == 500

        events = wait_until(
            lambda: len(sentry_stub.events()) >= 2 and sentry_stub.events(), timeout=30, message="two Sentry events"
        )
    finally:
        server.stop()
        print(server.log_tail(60))  # noqa: T201

    messages = [value["value"] for event in events for value in event["exception"]["values"]]
    assert any(m.startswith("api failure while mailing") for m in messages), messages
    assert any(m.startswith("page failure while mailing") for m in messages), messages
    assert all(event["environment"] == "test" for event in events)
    raw = b"\n".join(sentry_stub.envelopes)
    for secret in (EMAIL, TOKEN, SESSION, "alice.customer"):
        assert secret.encode() not in raw, secret
    assert b"[Filtered]" in raw


def test_scrub_event_strips_credentials_bodies_and_email_addresses():
    event = {
        "message": f"could not mail {EMAIL}",
        "request": {
            "url": "http://shop/api/v1/orders",
            "query_string": f"email={EMAIL.replace('@', '%40')}",
            "headers": {"Authorization": f"Bearer {TOKEN}", "Cookie": SESSION, "X-Api-Key": "k", "Accept": "*/*"},
            "cookies": {"sessionid": SESSION},
            "data": {"email": EMAIL, "password": "pw"},
        },
        "user": {"id": 7, "email": EMAIL, "ip_address": "10.0.0.1"},
        "breadcrumbs": {"values": [{"message": f"SELECT ... WHERE email = '{EMAIL.upper()}'"}]},
        "exception": {"values": [{"type": "RuntimeError", "value": f"<User: {EMAIL}>"}]},
    }
    scrubbed = scrub_event(event, {})
    text = json.dumps(scrubbed)
    for secret in (EMAIL, EMAIL.upper(), "alice.customer", TOKEN, SESSION, "10.0.0.1"):
        assert secret not in text, secret
    assert scrubbed["user"] == {"id": 7}
    assert "data" not in scrubbed["request"]
    assert "cookies" not in scrubbed["request"]
    assert scrubbed["request"]["headers"]["Accept"] == "*/*"
    assert scrubbed["request"]["headers"]["X-Api-Key"] == "[Filtered]"


CELERY_SCRIPT = """
import django, sentry_sdk
django.setup()
from celery import shared_task

@shared_task(name="sentry_probe.boom")
def boom():
    raise RuntimeError("task failed for bob.reader@example.com")

result = boom.apply()
assert result.failed()
sentry_sdk.flush(timeout=10)
"""


@pytest.mark.slow
def test_task_errors_reach_sentry_without_personal_data(sentry_stub, tmp_path):
    env = server_env(
        database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis="",
        CACHE_DIR=str(tmp_path / "cache"),
        SENTRY_DSN=sentry_stub.dsn,
    )
    subprocess.run([sys.executable, "-c", CELERY_SCRIPT], cwd=ROOT, env=env, check=True, timeout=120)
    events = wait_until(sentry_stub.events, timeout=10, message="a Sentry event from the task")
    assert events[0]["exception"]["values"][-1]["value"] == "task failed for [Filtered]"
    assert any(value.get("mechanism", {}).get("type") == "celery" for value in events[0]["exception"]["values"])
    assert b"bob.reader" not in b"\n".join(sentry_stub.envelopes)
