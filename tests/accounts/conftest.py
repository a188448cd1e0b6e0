"""Fixtures of the accounts tests."""

from __future__ import annotations

from rest_framework.test import APIClient

# The OpenID Connect provider the sign-in tests run against (a process of its own, per session).
from tests.accounts.oidc_provider.harness import oidc_provider as oidc_provider


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
