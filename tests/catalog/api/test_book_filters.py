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


@pytest.mark.parametrize("value", ["1", "yes", "YES", "True", "tRuE", " yes "])
def test_in_stock_takes_every_spelling_of_true(api_client: APIClient, shelf: dict[str, Any], value: str) -> None:
    assert titles(api_client, in_stock=value) == ["Bravo", "Charlie"]


@pytest.mark.parametrize("value", ["0", "no", "NO", "False", "fAlSe"])
def test_in_stock_takes_every_spelling_of_false(api_client: APIClient, shelf: dict[str, Any], value: str) -> None:
    assert titles(api_client, in_stock=value) == ["Alpha"]


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "on", "off", "y", "n", "t", "null", "1.0", "yes please"])
def test_in_stock_other_values_are_400_naming_it(api_client: APIClient, shelf: dict[str, Any], value: str) -> None:
    error = assert_envelope(api_client.get("/api/v1/books", {"in_stock": value}), 400, "validation_error")
    assert list(error["details"]) == ["in_stock"]
    assert "true, false, 1, 0, yes or no" in error["details"]["in_stock"][0]


@pytest.mark.parametrize("value", ["", " "])
def test_blank_in_stock_means_no_filter(api_client: APIClient, shelf: dict[str, Any], value: str) -> None:
    assert titles(api_client, in_stock=value) == ["Alpha", "Bravo", "Charlie"]


def test_genre_takes_repeated_and_comma_separated_slugs(api_client: APIClient, shelf: dict[str, Any]) -> None:
    GenreFactory(name="Mystery", slug="mystery")
    BookFactory(title="Delta", genres=[GenreFactory(name="Horror", slug="horror")])
    assert titles(api_client, genre=["fantasy", "horror"]) == ["Bravo", "Charlie", "Delta"]
    assert titles(api_client, genre="fantasy,horror") == ["Bravo", "Charlie", "Delta"]
    assert titles(api_client, genre=["science-fiction,mystery", "horror"]) == ["Alpha", "Bravo", "Delta"]
    assert titles(api_client, genre="mystery,unknown") == []


def test_a_book_in_several_of_the_genres_is_listed_once(api_client: APIClient, shelf: dict[str, Any]) -> None:
    response = api_client.get("/api/v1/books", {"genre": "fantasy,science-fiction", "ordering": "title"})
    assert response.json()["count"] == 3
    assert [book["title"] for book in response.json()["results"]] == ["Alpha", "Bravo", "Charlie"]


@pytest.mark.parametrize("value", ["Fantasy", "FANTASY", " fantasy "])
def test_genre_slugs_match_in_any_case(api_client: APIClient, shelf: dict[str, Any], value: str) -> None:
    assert titles(api_client, genre=value) == ["Bravo", "Charlie"]


def test_genre_slug_stored_with_capitals_matches_in_any_case(api_client: APIClient) -> None:
    BookFactory(title="Echo", genres=[GenreFactory(name="Noir", slug="Noir-Fiction")])
    assert titles(api_client, genre="noir-fiction") == ["Echo"]
    assert titles(api_client, genre="NOIR-FICTION,fantasy") == ["Echo"]


def test_author_takes_repeated_and_comma_separated_ids(api_client: APIClient, shelf: dict[str, Any]) -> None:
    tolkien = AuthorFactory(name="J. R. R. Tolkien")
    BookFactory(title="Delta", authors=[tolkien])
    herbert, le_guin = shelf["herbert"].pk, shelf["le_guin"].pk
    assert titles(api_client, author=[herbert, tolkien.pk]) == ["Alpha", "Charlie", "Delta"]
    assert titles(api_client, author=f"{le_guin},{tolkien.pk}") == ["Bravo", "Charlie", "Delta"]
    # Charlie credits both: listed once.
    response = api_client.get("/api/v1/books", {"author": f"{herbert},{le_guin}"})
    assert response.json()["count"] == 3


def test_language_takes_several_codes_in_any_case(api_client: APIClient, shelf: dict[str, Any]) -> None:
    BookFactory(title="Delta", language="de")
    assert titles(api_client, language="EN") == ["Alpha", "Charlie"]
    assert titles(api_client, language="Fr,de") == ["Bravo", "Delta"]
    assert titles(api_client, language=["fr", "DE"]) == ["Bravo", "Delta"]


def test_isbn_takes_several_values(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, isbn="0441013597,978-0-306-40615-7") == ["Alpha", "Bravo"]
    assert titles(api_client, isbn=["9780261102217", "9780441013593"]) == ["Alpha", "Charlie"]


def test_multi_value_filters_combine_with_each_other(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, genre="fantasy,science-fiction", language="EN", in_stock="yes") == ["Charlie"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"genre": "fantasy,not a slug"}, "genre"),
        ({"author": "1,abc"}, "author"),
        ({"author": ["1", "0"]}, "author"),
        ({"language": "en,xx"}, "language"),
        ({"isbn": "9780441013593,123"}, "isbn"),
        ({"author": ",".join(str(n) for n in range(1, 102))}, "author"),  # more than 100 values
    ],
)
def test_one_bad_value_among_several_is_400_naming_the_parameter(
    api_client: APIClient, shelf: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    error = assert_envelope(api_client.get("/api/v1/books", params), 400, "validation_error")
    assert list(error["details"]) == [field]


def test_blank_entries_of_a_list_are_skipped(api_client: APIClient, shelf: dict[str, Any]) -> None:
    assert titles(api_client, genre=",fantasy,,") == ["Bravo", "Charlie"]
    assert titles(api_client, genre=",") == ["Alpha", "Bravo", "Charlie"]


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
        ({"in_stock": "maybe"}, "in_stock"),
        ({"ordering": "--title"}, "ordering"),
        ({"ordering": "+price"}, "ordering"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "\u0661"}, "page"),  # ARABIC-INDIC DIGIT ONE: int() would read it as 1
    ],
)
def test_bad_values_are_400_naming_the_parameter(api_client: APIClient, params: dict[str, str], field: str) -> None:
    error = assert_envelope(api_client.get("/api/v1/books", params), 400, "validation_error")
    assert field in error["details"], error


def test_a_page_past_the_last_is_still_a_404_and_last_is_the_last_page(api_client: APIClient) -> None:
    BookFactory.create_batch(3)
    assert_envelope(api_client.get("/api/v1/books", {"page": "3", "page_size": "2"}), 404, "not_found")
    last = api_client.get("/api/v1/books", {"page": "last", "page_size": "2"})
    assert last.status_code == 200
    assert len(last.json()["results"]) == 1
