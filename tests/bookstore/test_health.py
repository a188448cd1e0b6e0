"""/healthz, /readyz, API root, schema and docs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_healthz(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ok(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def _readyz_in_subprocess(env_overrides: dict[str, str]) -> str:
    """Ask /readyz in a fresh process configured with ``env_overrides``."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json(), 'retry': r.get('Retry-After')}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "testserver",
        **env_overrides,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_readyz_503_when_database_unreachable():
    import json

    # A real, closed port: nothing listens on 127.0.0.1:1.
    out = json.loads(
        _readyz_in_subprocess(
            {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere", "DATABASE_CONNECT_TIMEOUT": "2"}
        )
    )
    assert out["status"] == 503
    assert out["body"]["checks"]["database"] == "unavailable"
    assert out["body"]["checks"]["cache"] == "ok"
    assert out["retry"]


def test_readyz_503_when_cache_unreachable(tmp_path):
    import json

    out = json.loads(
        _readyz_in_subprocess(
            {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "redis://127.0.0.1:1/0"}
        )
    )
    assert out["status"] == 503
    assert out["body"]["checks"] == {"database": "ok", "cache": "unavailable"}


def test_api_root_lists_currency(api_client, settings):
    settings.STORE_CURRENCY = "GBP"
    response = api_client.get("/api/v1/")
    assert response.status_code == 200
    assert response.json()["currency"] == "GBP"


def test_schema_is_openapi_3(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/" in schema["paths"]


def test_docs_render_from_local_static_files(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_security_headers_on_every_response(api_client):
    response = api_client.get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
