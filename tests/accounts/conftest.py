"""Fixtures of the accounts tests."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app
from rest_framework.test import APIClient

# The OpenID Connect provider the sign-in tests run against (a process of its own, per session).
from tests.accounts.oidc_provider.harness import oidc_provider as oidc_provider


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Tasks the code under test sends to the broker, recorded on their way (they are still sent)."""
    app = current_app._get_current_object()
    original = app.send_task
    sent: list[tuple[str, dict[str, Any]]] = []

    def recording(name: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((name, dict(kwargs.get("kwargs") or {})))
        return original(name, *args, **kwargs)

    monkeypatch.setattr(app, "send_task", recording)
    return sent
