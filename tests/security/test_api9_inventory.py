"""OWASP API9:2023 Improper inventory management: no route outside the documented inventory.

Three views of the API must agree: the URL configuration (what is really
served), the generated OpenAPI schema (what clients are told), and the
reviewed snapshot in ``api_inventory.txt`` (what the team decided to expose).
Adding an endpoint means adding it to the snapshot, in the same review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.routes import api_operations, schema_operations

pytestmark = pytest.mark.django_db

SNAPSHOT = Path(__file__).with_name("api_inventory.txt")


def _snapshot() -> set[tuple[str, str]]:
    lines = [line.split() for line in SNAPSHOT.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return {(method, path) for method, path in lines}


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def test_every_served_route_is_in_the_schema_and_nothing_else(schema):
    served, documented = api_operations(), schema_operations(schema)
    assert served - documented == set(), "served but undocumented"
    assert documented - served == set(), "documented but not served"


def test_the_inventory_matches_the_reviewed_snapshot(schema):
    current = schema_operations(schema)
    assert current - _snapshot() == set(), f"new operations: add them to {SNAPSHOT.name} after review"
    assert _snapshot() - current == set(), f"operations gone: remove them from {SNAPSHOT.name}"


def test_everything_lives_under_one_version(schema):
    assert all(path.startswith("/api/v1/") for _method, path in api_operations())
    assert schema["info"]["version"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_retired_and_guessable_paths_do_not_exist(api_client):
    for path in ["/api/", "/api/v0/books", "/api/v2/books", "/api/v1/users", "/api/v1/users/1", "/api/v1/admin"]:
        response = api_client.get(path)
        assert response.status_code == 404, path
