"""Fixtures of the accounts tests."""

from __future__ import annotations

from rest_framework.test import APIClient


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
