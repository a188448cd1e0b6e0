"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import DEFAULT_PASSWORD as _PASSWORD
from tests.factories import UserFactory
from tests.services import ServicesPlugin
from tests.smtp import SmtpServer


def pytest_configure(config: pytest.Config) -> None:
    """Tests marked ``requires_postgres``/``requires_redis``/``requires_rabbitmq``: see tests/services.py."""
    if not config.pluginmanager.has_plugin("bookstore-services"):
        config.pluginmanager.register(ServicesPlugin(), "bookstore-services")


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Rate-limit counters and cached pages never leak from one test to the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def staff_user(db: Any) -> Any:
    """Staff who may do everything (a superuser); staff permissions are tested in tests/security/."""
    return UserFactory(is_staff=True, is_superuser=True)


def _bearer_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def make_client() -> Callable[[Any], APIClient]:
    """``make_client(user)`` → an APIClient sending that user's JWT."""
    return _bearer_client


@pytest.fixture
def customer_client(user: Any) -> APIClient:
    return _bearer_client(user)


@pytest.fixture
def staff_client(staff_user: Any) -> APIClient:
    return _bearer_client(staff_user)


@pytest.fixture
def obtain_tokens(api_client: APIClient) -> Callable[..., dict[str, Any]]:
    """``obtain_tokens(user)`` → ``{"access", "refresh"}`` through the login endpoint."""

    def obtain(user: Any, password: str = _PASSWORD) -> dict[str, Any]:
        response = api_client.post("/api/v1/auth/token", {"email": user.email, "password": password}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return obtain


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server, and Django's SMTP backend pointed at it."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        yield server
