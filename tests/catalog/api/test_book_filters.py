"""Query parameters of ``GET /api/v1/books`` (API.md table): each filter, combinations, ordering, bad values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import AuthorFactory, BookFactory, GenreFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def titles(client: APIClient, **params: Any) -> list[str]:
    response = client.get("/api/v1/books", {"ordering": "title", **params})
    assert response.status_code == 200, response.content
    return [book["title"] for book in response.json()["results"]]


@pytest.fixture
def shelf() -> dict[str, Any]:
    herbert, le_guin = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Ursula K. Le Guin")
    scifi, fantasy = (
        GenreFactory(name="Science fiction", slug="science-fiction"),
        GenreFactory(name="Fantasy", slug="fantasy"),
    )
    BookFactory(
        title="Alpha",
        isbn="9780441013593",
        authors=[herbert],
        genres=[scifi],
        language="en",
        price=Decimal("5.00"),
        stock=0,
        published_date=date(1965, 8, 1),
    )
    BookFactory(
        title="Bravo",
        isbn="9780306406157",
        authors=[le_guin],
        genres=[fantasy, scifi],
        language="fr",
        price=Decimal("10.00"),
        stock=3,
        published_date=date(1969, 3, 1),
    )
    BookFactory(
        title="Charlie",
        isbn="9780261102217",
        authors=[herbert, le_guin],
        genres=[fantasy],
        language="en",
        price=Decimal("20.00"),
        stock=7,
        published_date=None,
    )
    return {"herbert": herbert, "le_guin": le_guin}


def test_author(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, author=shelf["herbert"].pk) == ["Alpha", "Charlie"]
    assert titles(api_client, author=shelf["le_guin"].pk) == ["Bravo", "Charlie"]
    assert titles(api_client, author=999999) == []


def test_genre_slug(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, genre="science-fiction") == ["Alpha", "Bravo"]
    assert titles(api_client, genre="fantasy") == ["Bravo", "Charlie"]
    assert titles(api_client, genre="unknown") == []


def test_language(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, language="fr") == ["Bravo"]
    assert titles(api_client, language="de") == []


def test_price_range_is_inclusive(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, min_price="10.00") == ["Bravo", "Charlie"]
    assert titles(api_client, max_price="10") == ["Alpha", "Bravo"]
    assert titles(api_client, min_price="5", max_price="10.00") == ["Alpha", "Bravo"]
    assert titles(api_client, min_price="10.01", max_price="19.99") == []


def test_in_stock(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, in_stock="true") == ["Bravo", "Charlie"]
    assert titles(api_client, in_stock="false") == ["Alpha"]


def test_published_range_is_inclusive(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, published_after="1969-03-01") == ["Bravo"]
    assert titles(api_client, published_before="1965-08-01") == ["Alpha"]
    assert titles(api_client, published_after="1965-08-01", published_before="1969-03-01") == ["Alpha", "Bravo"]


@pytest.mark.parametrize(
    "isbn", ["9780441013593", "978-0-441-01359-3", "978 0 441 01359 3", "0441013597", "0-441-01359-7"]
)
def test_isbn_in_any_accepted_form(api_client: APIClient, shelf: dict[str, Any], isbn: str) -> None:
    assert titles(api_client, isbn=isbn) == ["Alpha"]


def test_filters_combine(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, author=shelf["herbert"].pk, genre="fantasy", in_stock="true", language="en") == [
        "Charlie"
    ]
    assert titles(api_client, author=shelf["le_guin"].pk, max_price="15", search="bravo") == ["Bravo"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("title", ["Alpha", "Bravo", "Charlie"]),
        ("-title", ["Charlie", "Bravo", "Alpha"]),
        ("price", ["Alpha", "Bravo", "Charlie"]),
        ("-price", ["Charlie", "Bravo", "Alpha"]),
        ("published_date", ["Alpha", "Bravo", "Charlie"]),  # a missing date sorts last both ways
        ("-published_date", ["Bravo", "Alpha", "Charlie"]),
        ("created_at", ["Alpha", "Bravo", "Charlie"]),
        ("-created_at", ["Charlie", "Bravo", "Alpha"]),
    ],
)
def test_ordering(api_client: APIClient, shelf: dict[str, Any], ordering: str, expected: list[str]) -> None:
    response = api_client.get("/api/v1/books", {"ordering": ordering})
    assert [book["title"] for book in response.json()["results"]] == expected


def test_ordering_ties_are_broken_by_id(api_client: APIClient) -> None:
    first, second = BookFactory(title="Same", price=Decimal("1.00")), BookFactory(title="Same", price=Decimal("1.00"))
    response = api_client.get("/api/v1/books", {"ordering": "-price"})
    assert [book["id"] for book in response.json()["results"]] == [first.pk, second.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "stock"}, "ordering"),
        ({"ordering": "-isbn"}, "ordering"),
        ({"ordering": "title,bogus"}, "ordering"),
        ({"isbn": "978-0-441-01359-4"}, "isbn"),
        ({"author": "abc"}, "author"),
        ({"author": "1.5"}, "author"),
        ({"author": "99999999999999999999"}, "author"),  # beyond 64 bits
        ({"min_price": "1e999999"}, "min_price"),
        ({"max_price": "-1e999999"}, "max_price"),
        ({"language": "xx"}, "language"),
        ({"min_price": "cheap"}, "min_price"),
        ({"published_after": "1965-02-30"}, "published_after"),
        ({"published_before": "yesterday"}, "published_before"),
    ],
)
def test_bad_values_are_400_naming_the_parameter(api_client: APIClient, params: dict[str, str], field: str) -> None:
    error = assert_envelope(api_client.get("/api/v1/books", params), 400, "validation_error")
    assert field in error["details"], error
