"""Every response carries a request id; the request log is structured and has no secrets."""

from __future__ import annotations

import enum
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bookstore.logging import JsonFormatter

pytestmark = pytest.mark.django_db


def test_request_id_is_generated(api_client):
    response = api_client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


def test_incoming_request_id_is_echoed(api_client):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_unsafe_incoming_request_id_is_replaced(api_client):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_one_json_log_line_per_request_without_credentials(customer_client, user, caplog):
    with caplog.at_level(logging.INFO, logger="bookstore.request"):
        customer_client.get("/api/v1/", HTTP_X_REQUEST_ID="log-1")
    records = [r for r in caplog.records if r.name == "bookstore.request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"] == "log-1"
    serialized = json.dumps(line)
    assert "Bearer" not in serialized
    assert "Authorization" not in serialized


def test_log_line_names_the_authenticated_user(staff_client, staff_user, caplog):
    with caplog.at_level(logging.INFO, logger="bookstore.request"):
        staff_client.get("/api/v1/no-such-thing")
    record = next(r for r in caplog.records if r.name == "bookstore.request")
    # Unknown routes never reach authentication; the line still has the field.
    assert hasattr(record, "user_id")


def _formatted(**extra: object) -> str:
    record = logging.LogRecord("bookstore.request", logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update(extra)
    return JsonFormatter().format(record)


def test_a_log_line_is_one_line_of_ascii_json_whatever_its_values():
    class Colour(enum.Enum):
        RED = 1

    when = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    cases = {
        "plain": ({"path": "/api/v1/books/1", "status": 200, "duration_ms": 0.25}, None),
        "not ascii": ({"path": "/api/v1/books?search=Tolstoï\u2028"}, None),
        "datetime": ({"at": when}, str(when)),
        "decimal": ({"amount": Decimal("12.50")}, "12.50"),
        "enum": ({"colour": Colour.RED}, 1),
        "huge int": ({"big": 2**70}, 2**70),
        "int keys": ({"counts": {1: 2}}, {"1": 2}),
        "newline": ({"detail": "two\nlines"}, None),
    }
    for name, (extra, expected) in cases.items():
        line = _formatted(**extra)
        assert line.isascii(), name
        assert "\n" not in line, name
        parsed = json.loads(line)
        key, value = next(iter(extra.items()))
        assert parsed[key] == (value if expected is None else expected), name
        assert parsed["message"] == "request", name
        assert parsed["level"] == "INFO", name
