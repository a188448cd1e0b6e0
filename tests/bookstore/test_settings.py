"""Configuration rules: refusing to start without a secret, production checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k3!v9#pQz7@Lm2^xR8&wT4*eY6(uI1)oP5_aS0+dF3-gH7=jK9",
    "ALLOWED_HOSTS": "example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "bookstore.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_refuses_to_start_without_secret_key_when_not_debug():
    # An empty variable wins over a local .env, which never overwrites the environment.
    result = _manage("check", env={"DEBUG": "false", "SECRET_KEY": ""})
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0]


def test_check_deploy_is_clean_with_documented_production_env():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_argon2_is_the_first_hasher_in_real_settings():
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])", env=PRODUCTION_ENV
    )
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.auth.hashers.Argon2PasswordHasher"


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3", reason="SQLite-specific tuning"
)
@pytest.mark.django_db
def test_sqlite_runs_in_wal_with_immediate_transactions():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


# --- strict booleans ------------------------------------------------------------------


def test_a_misspelt_boolean_stops_start_up_naming_the_variable():
    result = _manage("check", env={**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "ture"})
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1, result.stderr
    assert "SECURE_SSL_REDIRECT" in lines[0]
    assert "ture" in lines[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(spelling, True) for spelling in ("true", "TRUE", "True", "1", "yes", "Yes", "on", "ON", " true ")],
        *[(spelling, False) for spelling in ("false", "FALSE", "0", "no", "No", "off", "OFF")],
    ],
)
def test_envbool_reads_the_known_spellings_in_any_case(monkeypatch, raw, expected):
    from bookstore.settings import envbool

    monkeypatch.setenv("BOOKSTORE_TEST_FLAG", raw)
    assert envbool("BOOKSTORE_TEST_FLAG", default=not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_envbool_unset_or_empty_is_the_default(monkeypatch, default):
    from bookstore.settings import envbool

    monkeypatch.delenv("BOOKSTORE_TEST_FLAG", raising=False)
    assert envbool("BOOKSTORE_TEST_FLAG", default=default) is default
    monkeypatch.setenv("BOOKSTORE_TEST_FLAG", "")
    assert envbool("BOOKSTORE_TEST_FLAG", default=default) is default


@pytest.mark.parametrize("raw", ["ture", "flase", "2", "-1", "y", "n", "ok", "enabled", "truee", "t"])
def test_envbool_refuses_anything_else_with_a_one_line_message_naming_the_variable(monkeypatch, raw):
    from bookstore.settings import envbool

    monkeypatch.setenv("BOOKSTORE_TEST_FLAG", raw)
    with pytest.raises(SystemExit) as stopped:
        envbool("BOOKSTORE_TEST_FLAG", default=False)
    message = str(stopped.value.code)
    assert "BOOKSTORE_TEST_FLAG" in message
    assert raw in message
    assert "\n" not in message


def test_no_app_module_reads_a_test_hook():
    """Fault tests pause the app from outside (a database lock or trigger), never through its own code."""
    hooks = ("ORDER_PLACE_TEST_DELAY", "BOOKSTORE_TEST_")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("accounts", "bookstore", "catalog", "orders")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if any(hook in path.read_text() for hook in hooks)
    ]
    assert offenders == []
