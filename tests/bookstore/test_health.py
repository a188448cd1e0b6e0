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
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def _readyz_in_subprocess(env_overrides: dict[str, str]) -> str:
    """Ask /readyz in a fresh process configured with ``env_overrides``."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json(), 'retry': r.get('Retry-After')}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "CELERY_DATA_DIR", "REDIS_URL"}},
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "testserver",
        **env_overrides,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_readyz_503_when_database_unreachable(tmp_path):
    import json

    # A real, closed port: nothing listens on 127.0.0.1:1.
    out = json.loads(
        _readyz_in_subprocess(
            {
                "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
                "DATABASE_CONNECT_TIMEOUT": "2",
                "CACHE_DIR": str(tmp_path / "cache"),
                "CELERY_DATA_DIR": str(tmp_path / "celery"),
            }
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
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "REDIS_URL": "redis://127.0.0.1:1/0",
                "CELERY_DATA_DIR": str(tmp_path / "celery"),
            }
        )
    )
    assert out["status"] == 503
    assert out["body"]["checks"] == {"database": "ok", "cache": "unavailable", "broker": "ok"}


def test_readyz_embedded_broker_is_ready_while_its_folder_is_writable(tmp_path):
    import json

    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_DIR": str(tmp_path / "cache"),
        "CELERY_DATA_DIR": str(tmp_path / "celery"),
    }
    out = json.loads(_readyz_in_subprocess(env))
    assert out["status"] == 200
    assert out["body"]["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}

    # A path under a plain file can never be created or written: the embedded broker is down.
    (tmp_path / "not-a-folder").write_text("")
    out = json.loads(_readyz_in_subprocess({**env, "CELERY_DATA_DIR": str(tmp_path / "not-a-folder" / "celery")}))
    assert out["status"] == 503
    assert out["body"]["checks"] == {"database": "ok", "cache": "ok", "broker": "unavailable"}
    assert out["retry"]


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
