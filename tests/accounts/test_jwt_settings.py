"""JWT settings come from the environment: lifetimes and the signing key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_JWT_SETTINGS = (
    "import json; from django.conf import settings; s = settings.SIMPLE_JWT; "
    "print(json.dumps({'access': s['ACCESS_TOKEN_LIFETIME'].total_seconds(), "
    "'refresh': s['REFRESH_TOKEN_LIFETIME'].total_seconds(), 'key_is_secret_key': s['SIGNING_KEY'] == settings.SECRET_KEY, "
    "'key': s['SIGNING_KEY'], 'rotate': s['ROTATE_REFRESH_TOKENS'], 'blacklist': s['BLACKLIST_AFTER_ROTATION']}))"
)


def _jwt_settings(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "DJANGO_SETTINGS_MODULE"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_JWT_SETTINGS],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "bookstore.settings", "DEBUG": "false", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_are_15_minutes_7_days_rotation_and_the_secret_key():
    values = _jwt_settings(SECRET_KEY="a-secret-key-for-this-test-only-0123456789-abcdefghij")
    assert values["access"] == 15 * 60
    assert values["refresh"] == 7 * 24 * 3600
    assert values["key_is_secret_key"] is True
    assert values["rotate"] is True
    assert values["blacklist"] is True


def test_lifetimes_and_signing_key_from_the_environment():
    values = _jwt_settings(
        SECRET_KEY="a-secret-key-for-this-test-only-0123456789-abcdefghij",
        JWT_ACCESS_MINUTES="5",
        JWT_REFRESH_DAYS="2",
        JWT_SIGNING_KEY="a-separate-jwt-signing-key-0123456789-abcdefghijklmn",
    )
    assert values["access"] == 5 * 60
    assert values["refresh"] == 2 * 24 * 3600
    assert values["key"] == "a-separate-jwt-signing-key-0123456789-abcdefghijklmn"
