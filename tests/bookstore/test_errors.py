"""The error envelope holds for every 4xx/5xx under /api/ (API.md, "Errors")."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from tests.helpers import assert_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.bookstore.urls_probe")]


def test_malformed_json_is_400_validation_error(staff_client):
    response = staff_client.post("/api/v1/_probe/staff", data='{"a": ', content_type="application/json")
    assert_envelope(response, 400, "validation_error")


def test_missing_credentials_is_401(api_client):
    response = api_client.get("/api/v1/_probe/staff")
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_envelope(api_client.get("/api/v1/_probe/staff"), 401, "not_authenticated")


def test_customer_on_staff_endpoint_is_403(customer_client):
    assert_envelope(customer_client.get("/api/v1/_probe/staff"), 403, "permission_denied")


def test_unknown_api_path_is_404_envelope(api_client):
    assert_envelope(api_client.get("/api/v1/no-such-collection"), 404, "not_found")
    assert_envelope(api_client.get("/api/nothing/here"), 404, "not_found")


def test_unknown_path_outside_api_is_not_json(api_client):
    response = api_client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_method_not_allowed_is_405(staff_client):
    assert_envelope(staff_client.delete("/api/v1/_probe/staff"), 405, "method_not_allowed")


@override_settings(MAX_REQUEST_BYTES=1024)
def test_body_over_limit_is_413(staff_client):
    response = staff_client.post(
        "/api/v1/_probe/staff", data='{"x": "' + "a" * 2000 + '"}', content_type="application/json"
    )
    assert_envelope(response, 413, "payload_too_large")


def test_default_body_limit_is_one_mebibyte(staff_client):
    big = '{"x": "' + "a" * (1024 * 1024) + '"}'
    assert_envelope(
        staff_client.post("/api/v1/_probe/staff", data=big, content_type="application/json"), 413, "payload_too_large"
    )


def test_wrong_content_type_is_415(staff_client):
    response = staff_client.post("/api/v1/_probe/staff", data="a=1", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, 415, "unsupported_media_type")


def test_unhandled_exception_is_500_without_internals(api_client, caplog):
    with caplog.at_level(logging.ERROR, logger="bookstore.errors"):
        response = api_client.get("/api/v1/_probe/boom", HTTP_X_REQUEST_ID="req-boom-1")
    error = assert_envelope(response, 500, "server_error")
    text = response.content.decode()
    assert "secret internal detail" not in text
    assert "Traceback" not in text
    assert "SELECT" not in text
    assert error["details"] == {}
    # Logged server-side with the request id, so support can find it.
    records = [r for r in caplog.records if r.name == "bookstore.errors"]
    assert records
    assert getattr(records[0], "exc_info", None)
    assert response["X-Request-ID"] == "req-boom-1"


def test_flatten_details_names_nested_lines():
    from bookstore.errors import flatten_details

    nested = {"items": [{}, {"quantity": ["Too many."]}], "coupon_code": ["Unknown."], "non_field_errors": ["Bad."]}
    assert flatten_details(nested) == {
        "items.1.quantity": ["Too many."],
        "coupon_code": ["Unknown."],
        "non_field_errors": ["Bad."],
    }
