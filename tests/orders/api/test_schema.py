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


def _query_parameters(schema, path):
    return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def test_order_list_filters_are_described(schema):
    params = _query_parameters(schema, "/api/v1/orders")
    for name in ("status", "user"):
        assert params[name]["schema"]["type"] == "array"
        assert params[name]["explode"] is True
        assert params[name]["style"] == "form"
        assert "either" in params[name]["description"]
    assert set(params["status"]["schema"]["items"]["enum"]) == {"pending", "paid", "shipped", "delivered", "cancelled"}
    assert "any case" in params["status"]["description"]
    assert params["user"]["schema"]["items"]["type"] == "integer"
    for name in ("created_after", "created_before"):
        assert "YYYY-MM-DD" in params[name]["description"]
        assert "9999-12-31" in params[name]["description"]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/api/v1/orders", ["created_at", "total"]),
        ("/api/v1/coupons", ["code", "starts_at", "ends_at"]),
        ("/api/v1/discount-tiers", ["min_quantity", "percent"]),
    ],
)
def test_ordering_lists_its_fields(schema, path, fields):
    ordering = _query_parameters(schema, path)["ordering"]
    assert ordering["schema"]["type"] == "array"
    assert set(ordering["schema"]["items"]["enum"]) == {f"{sign}{field}" for field in fields for sign in ("", "-")}
    assert ordering["explode"] is False
    assert "400" in ordering["description"]


def test_money_is_a_decimal_string(schema):
    order = schema["components"]["schemas"]["Order"]["properties"]
    for field in ("subtotal", "discount_total", "total"):
        assert order[field]["type"] == "string"
        assert order[field]["format"] == "decimal"
