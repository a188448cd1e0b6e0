"""Assertions shared by the API tests."""

from __future__ import annotations

from typing import Any


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert an API.md error envelope with ``status`` and ``code``; return ``error``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]
