"""The OpenAPI schema documents the accounts endpoints and both authentication schemes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_both_security_schemes_are_documented(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKeyAuth"]["type"] == "apiKey"
    assert schemes["apiKeyAuth"]["in"] == "header"
    assert schemes["apiKeyAuth"]["name"] == "Authorization"
    assert "Api-Key" in schemes["apiKeyAuth"]["description"]


def test_authenticated_endpoints_accept_either_scheme(schema):
    security = schema["paths"]["/api/v1/users/me"]["get"]["security"]
    assert {"jwtAuth": []} in security
    assert {"apiKeyAuth": []} in security


def test_public_auth_endpoints_need_no_credentials(schema):
    for path in ("/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/auth/token/refresh"):
        operation = schema["paths"][path]["post"]
        assert operation.get("security", []) in ([], [{}]), path
        assert "429" in operation["responses"], path


def test_paths_and_methods_match_the_contract(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/auth/register"]) >= {"post"}
    assert set(paths["/api/v1/auth/logout"]) >= {"post"}
    assert {"get", "patch"} <= set(paths["/api/v1/users/me"])
    assert "put" not in paths["/api/v1/users/me"]
    assert set(paths["/api/v1/users/me/password"]) >= {"post"}
    assert {"get", "post"} <= set(paths["/api/v1/api-keys"])
    assert "delete" in paths["/api/v1/api-keys/{id}"]


def test_the_key_is_documented_only_on_creation(schema):
    components = schema["components"]["schemas"]
    created = schema["paths"]["/api/v1/api-keys"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "key" in components[created["$ref"].rsplit("/", 1)[1]]["properties"]
    listed = schema["paths"]["/api/v1/api-keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = components[listed["$ref"].rsplit("/", 1)[1]]
    item = page["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[1]
    assert "key" not in components[item]["properties"]
