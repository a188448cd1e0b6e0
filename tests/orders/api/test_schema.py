"""The OpenAPI schema documents the order endpoints as API.md defines them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_order_paths_have_no_trailing_slash(schema):
    paths = set(schema["paths"])
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/quote",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/cancel",
        "/api/v1/orders/{id}/pay",
        "/api/v1/orders/{id}/ship",
        "/api/v1/orders/{id}/deliver",
        "/api/v1/coupons",
        "/api/v1/coupons/{id}",
        "/api/v1/discount-tiers",
        "/api/v1/discount-tiers/{id}",
    ):
        assert path in paths, path


def test_order_creation_documents_idempotency(schema):
    create = schema["paths"]["/api/v1/orders"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert {"201", "400", "409", "422"} <= set(create["responses"])
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]


def test_order_list_documents_its_filters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert {"status", "created_after", "created_before", "user", "page", "page_size"} <= names


def test_money_is_a_decimal_string(schema):
    order = schema["components"]["schemas"]["Order"]["properties"]
    for field in ("subtotal", "discount_total", "total"):
        assert order[field]["type"] == "string"
        assert order[field]["format"] == "decimal"
