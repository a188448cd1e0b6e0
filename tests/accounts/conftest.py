"""Fixtures of the accounts tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def obtain_tokens(api_client: APIClient) -> Callable[..., dict[str, Any]]:
    """``obtain_tokens(user)`` → ``{"access", "refresh"}`` through the login endpoint."""

    def obtain(user: Any, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        response = api_client.post(TOKEN_URL, {"email": user.email, "password": password}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return obtain


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
