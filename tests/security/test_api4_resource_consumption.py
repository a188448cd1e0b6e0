"""OWASP API4:2023 Unrestricted resource consumption: sizes, counts and nesting are bounded.

Every oversized or hostile input gets a 4xx in the error envelope, before it
costs the server anything, and never a 5xx.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.services import address_create
from tests.factories import BookFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(customer_client, depth):
    body = "[" * depth + "]" * depth
    response = customer_client.generic("POST", "/api/v1/orders", body, content_type="application/json")
    assert_envelope(response, 400, "validation_error")


def test_ten_megabyte_body_is_refused_with_413_before_parsing(customer_client):
    body = json.dumps({"items": [{"book_id": 1, "quantity": 1}], "coupon_code": "x" * (10 * 1024 * 1024)})
    response = customer_client.generic("POST", "/api/v1/orders", body, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


@pytest.mark.parametrize("field", ["author_ids", "genre_ids"])
def test_ids_beyond_64_bits_are_a_400(staff_client, field):
    body = {"isbn": "9780441013593", "title": "Dune", "price": "9.99", "author_ids": [1], field: [2**70]}
    response = staff_client.post("/api/v1/books", body, format="json")
    error = assert_envelope(response, 400, "validation_error")
    assert any(key.startswith(field) for key in error["details"])


def _string_inputs() -> list[Any]:
    """(method, path, where, name) for every string field of a JSON body and every string query parameter."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    cases = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "$ref" in body:  # a free-form body (Stripe's webhook event) names no fields
                properties = components[body["$ref"].rsplit("/", 1)[-1]].get("properties", {})
                for name, spec in properties.items():
                    if spec.get("type") == "string" and not spec.get("readOnly"):
                        cases.append(pytest.param(method.upper(), path, "body", name, id=f"{method} {path} {name}"))
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "string":
                    name = parameter["name"]
                    cases.append(pytest.param(method.upper(), path, "query", name, id=f"{method} {path} ?{name}"))
    return cases


def _concrete(path: str, world: Any) -> str:
    ids = {
        "/api/v1/authors/": world.author.pk,
        "/api/v1/genres/": world.genre.pk,
        "/api/v1/series/": world.series.pk,
        "/api/v1/books/": world.book.pk,
        "/api/v1/coupons/": world.coupon.pk,
        "/api/v1/discount-tiers/": world.tier.pk,
        "/api/v1/orders/": world.order.pk,
        "/api/v1/api-keys/": world.api_key_id,
    }
    for prefix, pk in ids.items():
        if path.startswith(prefix):
            return path.replace("{id}", str(pk))
    if path.startswith("/api/v1/users/me/addresses/"):  # the caller's own (the tests call as staff)
        address = address_create(
            user=world.staff, name="Ada", line1="Unter den Linden 1", city="Berlin", postal_code="10117", country="DE"
        )
        return path.replace("{id}", str(address.pk))
    return path


@pytest.mark.parametrize(("method", "path", "where", "name"), _string_inputs())
def test_nul_bytes_in_any_string_input_are_a_400_not_a_500(world, method, path, where, name):
    """PostgreSQL cannot store NUL in text; every string input must refuse it before the database sees it."""
    client = world.client("staff")
    url = _concrete(path, world)
    if where == "query":
        response = client.generic(method, f"{url}?{name}=a%00b")
        assert response.status_code in {200, 400}, response.content[:300]
        if response.status_code == 400:
            assert_envelope(response, 400, "validation_error")
        return
    response = client.generic(method, url, json.dumps({name: "a\x00b"}), content_type="application/json")
    error = assert_envelope(response, 400, "validation_error")
    assert any(key == name or key.startswith(f"{name}.") for key in error["details"]), error


def test_page_size_is_capped_at_100_and_garbage_is_a_400(staff_client):
    BookFactory.create_batch(105)
    for huge in ["101", "100000", "99999999999999999999999"]:
        capped = staff_client.get(f"/api/v1/books?page_size={huge}")
        assert capped.status_code == 200
        assert len(capped.json()["results"]) == 100
        assert capped.json()["count"] == 105
    for garbage in ["-1", "0", "abc", "1e9", "1.5", "\u0661"]:
        assert_envelope(staff_client.get(f"/api/v1/books?page_size={garbage}"), 400, "validation_error")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/books", "search"),
        ("/api/v1/authors", "search"),
        ("/api/v1/books/facets", "search"),
        ("/api/v1/search/suggest", "q"),
    ],
)
def test_ten_kilobyte_hostile_search_is_answered_quickly_without_a_5xx(api_client, path, parameter):
    BookFactory(title="Dune")
    hostile = ("\"unbalanced -not AND OR NEAR( * ^ ~ \\ %_ ' ; -- " * 250)[: 10 * 1024]
    started = time.perf_counter()
    response = api_client.get(path, {parameter: hostile, "highlight": "true"})
    assert response.status_code in {200, 400}, response.content[:300]
    assert time.perf_counter() - started < 5
    if response.status_code == 400:
        assert_envelope(response, 400, "validation_error")


def test_orders_are_limited_to_50_lines_of_at_most_100_copies(customer_client):
    books = BookFactory.create_batch(51, stock=1000)
    lines = [{"book_id": book.pk, "quantity": 1} for book in books]

    too_many = customer_client.post("/api/v1/orders", {"items": lines}, format="json")
    assert_envelope(too_many, 400, "validation_error")
    too_much = customer_client.post(
        "/api/v1/orders", {"items": [{"book_id": books[0].pk, "quantity": 101}]}, format="json"
    )
    error = assert_envelope(too_much, 400, "validation_error")
    assert "items.0.quantity" in error["details"]
    fifty = customer_client.post("/api/v1/orders", {"items": lines[:50]}, format="json")
    assert fifty.status_code == 201
    assert len(fifty.json()["items"]) == 50


@pytest.mark.parametrize("path", ["/api/v1/books", "/api/v1/authors", "/api/v1/genres", "/api/v1/orders"])
@pytest.mark.parametrize("ordering", [",", ",,", "-", "title,", ",-", "%00"])
def test_degenerate_ordering_parameters_are_never_a_500(staff_client, path, ordering):
    response = staff_client.get(f"{path}?ordering={ordering}")
    assert response.status_code in {200, 400}, response.content[:300]
    if response.status_code == 400:
        assert_envelope(response, 400, "validation_error")


@pytest.mark.parametrize("value", ["99999999999999999999999", "1.8943600047184033e+31", "1.5", "-1"])
def test_id_filters_beyond_64_bits_or_not_whole_are_a_400(staff_client, value):
    for path in ["/api/v1/orders", "/api/v1/books"]:
        name = "user" if path.endswith("orders") else "author"
        response = staff_client.get(path, {name: value})
        error = assert_envelope(response, 400, "validation_error")
        assert name in error["details"]
