"""Every ``201 Created`` carries ``Location``, the new resource's URL (API.md, "General additions").

The walk covers every operation the schema documents with a ``201``: a new
create endpoint without an entry in ``CREATES`` fails the test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import AuthorFactory, BookFactory, UserFactory

pytestmark = pytest.mark.django_db


def _book() -> dict[str, Any]:
    return {"isbn": "9780441013593", "title": "Dune", "price": "9.99", "author_ids": [AuthorFactory().pk]}


def _order() -> dict[str, Any]:
    return {"items": [{"book_id": BookFactory(stock=5).pk, "quantity": 1}]}


# POST path -> (body factory, anonymous caller?, expected Location path given the response body)
CREATES: dict[str, tuple[Callable[[], dict[str, Any]], bool, Callable[[dict[str, Any]], str]]] = {
    "/api/v1/authors": (lambda: {"name": "Ursula K. Le Guin"}, False, lambda b: f"/api/v1/authors/{b['id']}"),
    "/api/v1/genres": (lambda: {"name": "Science fiction"}, False, lambda b: f"/api/v1/genres/{b['id']}"),
    "/api/v1/series": (lambda: {"name": "Earthsea"}, False, lambda b: f"/api/v1/series/{b['id']}"),
    "/api/v1/books": (_book, False, lambda b: f"/api/v1/books/{b['id']}"),
    "/api/v1/coupons": (
        lambda: {"code": "WELCOME10", "kind": "percent", "value": "10.00"},
        False,
        lambda b: f"/api/v1/coupons/{b['id']}",
    ),
    "/api/v1/discount-tiers": (
        lambda: {"min_quantity": 50, "percent": "15.00"},
        False,
        lambda b: f"/api/v1/discount-tiers/{b['id']}",
    ),
    "/api/v1/orders": (_order, False, lambda b: f"/api/v1/orders/{b['id']}"),
    "/api/v1/api-keys": (lambda: {"name": "shop frontend"}, False, lambda b: f"/api/v1/api-keys/{b['id']}"),
    "/api/v1/users/me/addresses": (
        lambda: {
            "name": "Ada",
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
        },
        False,
        lambda b: f"/api/v1/users/me/addresses/{b['id']}",
    ),
    "/api/v1/auth/register": (
        lambda: {"email": "new.reader@example.com", "password": "violet-harbour-compass-77"},
        True,
        lambda b: "/api/v1/users/me",
    ),
}


def _bearer(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def admin_client() -> APIClient:
    # A superuser may do everything, whatever permissions staff need.
    return _bearer(UserFactory(is_staff=True, is_superuser=True))


def _documented_creates() -> set[str]:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    return {
        path for path, operations in schema["paths"].items() if "201" in operations.get("post", {}).get("responses", {})
    }


def test_every_documented_create_is_walked() -> None:
    assert _documented_creates() == set(CREATES)


@pytest.mark.parametrize("path", sorted(CREATES))
def test_a_201_names_the_new_resource(path: str, admin_client: APIClient) -> None:
    body_factory, anonymous, expected = CREATES[path]
    client = APIClient() if anonymous else admin_client
    response = client.post(path, body_factory(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    location = response["Location"]
    assert location.startswith("http://testserver/")
    assert urlsplit(location).path == expected(body)

    # The URL answers with the resource just created.
    reader = _bearer(UserFactory._meta.model.objects.get(pk=body["id"])) if anonymous else client
    fetched = reader.get(location)
    assert fetched.status_code == 200, fetched.content
    assert fetched.json()["id"] == body["id"]


def test_an_idempotent_replay_names_the_order_too(customer_client: APIClient) -> None:
    body = {"items": [{"book_id": BookFactory(stock=5).pk, "quantity": 1}]}
    first = customer_client.post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="a1b2c3")
    replay = customer_client.post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="a1b2c3")
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert first["Location"] == replay["Location"] == f"http://testserver/api/v1/orders/{first.json()['id']}"


def test_the_schema_documents_location_on_every_201() -> None:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    for path in _documented_creates():
        headers = schema["paths"][path]["post"]["responses"]["201"]["headers"]
        assert headers["Location"]["required"] is True, path
        assert headers["Location"]["schema"] == {"type": "string", "format": "uri"}, path


def test_a_failed_create_has_no_location(admin_client: APIClient) -> None:
    response = admin_client.post("/api/v1/genres", {"name": ""}, format="json")
    assert response.status_code == 400
    assert "Location" not in response
