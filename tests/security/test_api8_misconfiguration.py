"""OWASP API8:2023 Security misconfiguration: safe defaults, hardened headers, no CORS, no leaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import ApiKey
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EVIL_ORIGIN = "https://evil.example"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "bookstore.settings", "SECRET_KEY": "s" * 60, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_is_armed_and_debug_is_off_unless_asked_for():
    # The same check CI runs with the production settings fails on a debug configuration.
    debug = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="true")
    assert debug.returncode != 0
    assert "DEBUG" in debug.stdout + debug.stderr
    default = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)")
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/no-such-thing", "/api/v1/orders", "/api/schema/", "/api/docs/", "/admin/login/"]
)
def test_hardening_headers_on_api_docs_admin_and_errors(path):
    response = Client().get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "X-Powered-By" not in response
    assert "Server" not in response


def test_https_settings_redirect_and_send_hsts(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client = Client()
    plain = client.get("/api/v1/")
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    secure = client.get("/api/v1/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_no_cross_origin_access_is_granted(world):
    client = world.client("customer")
    for response in (
        client.get("/api/v1/orders", HTTP_ORIGIN=EVIL_ORIGIN),
        client.options(
            "/api/v1/orders",
            HTTP_ORIGIN=EVIL_ORIGIN,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
        ),
    ):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response
        assert "Access-Control-Allow-Headers" not in response


def test_method_override_headers_and_trace_are_not_honoured(world):
    client = world.client("staff")
    overridden = client.post(f"/api/v1/api-keys/{world.api_key_id}", HTTP_X_HTTP_METHOD_OVERRIDE="DELETE")
    assert_envelope(overridden, 405, "method_not_allowed")
    assert ApiKey.objects.get(pk=world.api_key_id).revoked_at is None
    assert_envelope(client.generic("TRACE", "/api/v1/orders"), 405, "method_not_allowed")


def test_errors_reveal_no_internals(world, monkeypatch):
    from orders.api import views

    def broken(**kwargs):
        raise RuntimeError("SELECT secret FROM orders -- internal detail")

    monkeypatch.setattr(views, "order_list", broken)
    client = world.client("customer")
    client.raise_request_exception = False
    response = client.get("/api/v1/orders")
    assert_envelope(response, 500, "server_error")
    assert "SELECT" not in response.content.decode()
    assert "Traceback" not in response.content.decode()

    page = Client().get("/definitely/not/here")
    assert page.status_code == 404
    assert "URLconf" not in page.content.decode()
