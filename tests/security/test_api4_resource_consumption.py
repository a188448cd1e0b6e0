"""OWASP API4:2023 Unrestricted resource consumption: sizes, counts and nesting are bounded.

Every oversized or hostile input gets a 4xx in the error envelope, before it
costs the server anything, and never a 5xx.
"""

from __future__ import annotations

import json

import pytest

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
