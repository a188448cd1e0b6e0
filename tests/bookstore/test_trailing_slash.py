"""A trailing slash on an API path is a 404 whose message names the path without it (API.md: no trailing slash)."""

from __future__ import annotations

import pytest

from tests.factories import BookFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "meant"),
    [
        ("/api/v1/books/", "/api/v1/books"),
        ("/api/v1/authors/", "/api/v1/authors"),
        ("/api/v1/orders/quote/", "/api/v1/orders/quote"),
        ("/api/v1/auth/token/", "/api/v1/auth/token"),
        ("/api/v1/users/me/", "/api/v1/users/me"),
        ("/api/v1/books//", "/api/v1/books"),
        ("/api/v1//", "/api/v1/"),
    ],
)
def test_a_trailing_slash_names_the_right_path(api_client, path, meant):
    error = assert_envelope(api_client.get(path), 404, "not_found")
    assert f"Did you mean {meant}?" in error["message"]


def test_a_detail_path_with_a_trailing_slash_names_it_without(api_client):
    book = BookFactory()
    error = assert_envelope(api_client.get(f"/api/v1/books/{book.pk}/"), 404, "not_found")
    assert error["message"] == f"Not found. Did you mean /api/v1/books/{book.pk}?"


def test_every_method_gets_the_hint(staff_client):
    for method in ("post", "put", "patch", "delete"):
        error = assert_envelope(getattr(staff_client, method)("/api/v1/books/", {}), 404, "not_found")
        assert "Did you mean /api/v1/books?" in error["message"], method


def test_the_slashless_path_itself_still_answers(api_client):
    assert api_client.get("/api/v1/books").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/no-such-collection/", "/api/v1/no-such-collection", "/api/nothing/"])
def test_an_unknown_path_gets_no_hint(api_client, path):
    error = assert_envelope(api_client.get(path), 404, "not_found")
    assert error["message"] == "No such resource."
