"""Fixtures for the outbox tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtp import SmtpServer


@pytest.fixture
def smtp_server(settings: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """A real SMTP server, and Django's SMTP backend pointed at it."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        yield server
