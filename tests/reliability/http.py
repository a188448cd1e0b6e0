"""Small HTTP helpers shared by the multi-process tests."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT = 20


def call(method: str, url: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url, headers=headers, timeout=kwargs.pop("timeout", TIMEOUT), **kwargs)


def assert_service_unavailable(response: requests.Response) -> None:
    """API.md: 503 ``service_unavailable`` in the envelope, with a Retry-After in seconds."""
    assert response.status_code == 503, (response.status_code, response.text[:500])
    body = response.json()
    assert body["error"]["code"] == "service_unavailable", body
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in response.text
    assert "psycopg" not in response.text.lower()


def admin_session(url: str, email: str, password: str) -> requests.Session:
    """A browser-like session logged into the admin through its login form."""
    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=TIMEOUT).raise_for_status()
    response = session.post(
        f"{url}/admin/login/?next=/admin/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.status_code
    assert response.url == f"{url}/admin/", "the admin login failed"
    return session
