"""CORS for browser frontends on other origins (django-cors-headers): only the configured origins, API only."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.bookstore.test_settings import _manage

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"


@pytest.fixture(autouse=True)
def _origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [SHOP, "http://localhost:3000"]
    settings.CORS_ALLOW_ALL_ORIGINS = False
    settings.CORS_ALLOW_CREDENTIALS = False


def _preflight(origin: str, path: str = "/api/v1/orders") -> object:
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


def test_a_preflight_from_an_allowed_origin_succeeds():
    response = _preflight(SHOP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed_headers = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert "idempotency-key" in allowed_headers
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response


def test_another_origin_gets_no_cors_headers():
    for response in (
        _preflight("https://evil.example"),
        Client().get("/api/v1/books", HTTP_ORIGIN="https://evil.example"),
        # Not a prefix match: the origin must be exactly one of the list.
        _preflight("https://shop.example.evil.example"),
    ):
        assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_responses_to_an_allowed_origin_expose_the_headers_clients_read():
    response = Client().get("/api/v1/books", HTTP_ORIGIN=SHOP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert {"location", "retry-after", "etag", "x-request-id"} <= exposed
    assert "origin" in response["Vary"].lower()


def test_error_responses_carry_cors_headers_so_the_frontend_can_read_them():
    response = Client().get("/api/v1/users/me", HTTP_ORIGIN=SHOP)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == SHOP


def test_only_the_api_answers_cross_origin_requests():
    response = Client().get("/admin/login/", HTTP_ORIGIN=SHOP)
    assert "Access-Control-Allow-Origin" not in response


def _settings_from_env(**env: str) -> dict[str, object]:
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'origins': s.CORS_ALLOWED_ORIGINS, 'all': getattr(s, 'CORS_ALLOW_ALL_ORIGINS', False), "
        "'credentials': s.CORS_ALLOW_CREDENTIALS}))"
    )
    result = _manage("shell", "-c", code, env={"DEBUG": "true", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(False)
def test_origins_come_from_a_comma_separated_variable():
    read = _settings_from_env(CORS_ALLOWED_ORIGINS=" https://shop.example, http://localhost:3000 ,")
    assert read == {"origins": ["https://shop.example", "http://localhost:3000"], "all": False, "credentials": False}
    assert _settings_from_env(CORS_ALLOWED_ORIGINS="")["origins"] == []


@pytest.mark.django_db(False)
def test_a_wildcard_allows_every_origin_without_credentials():
    assert _settings_from_env(CORS_ALLOWED_ORIGINS="*") == {"origins": [], "all": True, "credentials": False}


@pytest.mark.django_db(False)
def test_a_wildcard_with_credentials_refuses_to_start():
    result = _manage("check", env={"DEBUG": "true", "CORS_ALLOWED_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"})
    assert result.returncode != 0
    assert "CORS_ALLOWED_ORIGINS" in result.stderr
    assert "CORS_ALLOW_CREDENTIALS" in result.stderr


@pytest.mark.django_db(False)
def test_an_origin_without_a_scheme_fails_the_system_check():
    result = _manage("check", env={"DEBUG": "true", "CORS_ALLOWED_ORIGINS": "shop.example"})
    assert result.returncode != 0
    assert "corsheaders" in result.stdout + result.stderr
