"""The fast read paths of /api/v1/books behave exactly like the generic ones they replace."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from catalog import selectors
from catalog.api.filters import BookFilter
from catalog.api.serializers import BookSerializer
from tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db


def generic_rendering(book_id: int) -> dict:
    """What DRF's generic ModelSerializer loop makes of the same book."""
    book = selectors.book_get(book_id=book_id, include_inactive=True)
    return dict(serializers.ModelSerializer.to_representation(BookSerializer(book), book))


@pytest.mark.parametrize(
    "fields",
    [
        {"published_date": date(1965, 8, 1), "page_count": 896, "price": Decimal("9.99"), "subtitle": "A novel"},
        {"published_date": None, "page_count": None, "price": Decimal("0.00"), "is_active": False, "stock": 0},
        {"published_date": date(2001, 1, 31), "page_count": 1, "price": Decimal("12.5"), "language": "fr"},
    ],
)
def test_book_serializer_output_equals_the_generic_rendering(fields: dict) -> None:
    first, second = AuthorFactory(name="Zoë Second"), AuthorFactory(name="Anna First")
    book = BookFactory(authors=[first, second], genres=GenreFactory.create_batch(2), **fields)

    fast = BookSerializer(selectors.book_get(book_id=book.pk, include_inactive=True)).data

    assert fast == generic_rendering(book.pk)
    assert list(fast) == list(BookSerializer.Meta.fields)
    assert [author["name"] for author in fast["authors"]] == ["Zoë Second", "Anna First"]  # cover order


def test_book_serializer_output_for_a_book_without_genres() -> None:
    book = BookFactory()
    fast = BookSerializer(selectors.book_get(book_id=book.pk)).data
    assert fast == generic_rendering(book.pk)
    assert fast["genres"] == []
    assert fast["price"] == "10.00"
    assert fast["created_at"].endswith("Z")


def test_list_and_detail_render_the_same_book(api_client: APIClient) -> None:
    book = BookFactory(genres=[GenreFactory()], published_date=date(1999, 12, 31))
    listed = api_client.get("/api/v1/books").json()["results"]
    assert listed == [api_client.get(f"/api/v1/books/{book.pk}").json()]
    assert listed[0] == generic_rendering(book.pk)


def test_detail_ignores_the_list_filters(api_client: APIClient) -> None:
    book = BookFactory(stock=5, language="en")
    response = api_client.get(f"/api/v1/books/{book.pk}", {"in_stock": "false", "language": "fr"})
    assert response.status_code == 200
    assert response.json()["id"] == book.pk


def test_language_filter_still_validates_and_filters(api_client: APIClient) -> None:
    BookFactory(title="English", language="en")
    BookFactory(title="French", language="fr")
    assert [b["title"] for b in api_client.get("/api/v1/books", {"language": "fr"}).json()["results"]] == ["French"]
    response = api_client.get("/api/v1/books", {"language": "xx"})
    assert response.status_code == 400
    assert "language" in response.json()["error"]["details"]


def test_language_codes_are_shared_by_copies_of_the_form_field() -> None:
    """Every list request deep-copies the filter form; the 184 language codes must not be copied with it."""
    field = BookFilter().form.fields["language"]
    copied = copy.deepcopy(field)
    assert "fr" in copied.item.codes
    assert len(copied.item.codes) == 184
    assert copied.item.codes is field.item.codes


# --- a search's page from the books' stored details -------------------------------------------------------


@pytest.fixture
def searchable() -> list[int]:
    dune = AuthorFactory(name="Frank Herbert")
    ids = []
    for i in range(14):
        book = BookFactory(
            title=f"Dune <b>{i}</b>" if i % 3 else f"Sands {i}",
            description=f"Arrakis, the desert planet. Dune {i}." if i % 3 == 0 else "A story.",
            authors=[dune] if i % 2 else [AuthorFactory()],
            genres=GenreFactory.create_batch(1 + i % 2),
            stock=i % 4,
            price=Decimal(5 + i),
            is_active=i != 13,
        )
        ids.append(book.pk)
    return ids


SEARCH_PAGES = [
    {"search": "dune"},
    {"search": "dune", "page_size": 4, "page": 2},
    {"search": "dune", "highlight": "true", "page_size": 5},
    {"search": "dune", "prefer_in_stock": "true"},
    {"search": "dune", "ordering": "-price"},
    {"search": "dune", "in_stock": "true", "min_price": "8"},
    {"search": "Dnue herbert"},  # corrected for typos: did_you_mean
    {"search": "herb"},  # the last word as a prefix
    {"search": "nothing-like-it"},
    {"search": ""},  # no word: a plain page
]


@pytest.mark.parametrize("params", SEARCH_PAGES)
def test_a_search_page_made_of_stored_details_equals_the_page_read_from_the_database(
    api_client: APIClient, searchable: list[int], params: dict, settings
) -> None:
    settings.CATALOG_CACHE_SECONDS = 0
    from_database = api_client.get("/api/v1/books", params)
    settings.CATALOG_CACHE_SECONDS = 300
    filled = api_client.get("/api/v1/books", params)  # every book's detail rendered and stored
    stored = api_client.get("/api/v1/books", params)  # every book from its stored detail
    assert from_database.status_code == filled.status_code == stored.status_code == 200
    assert from_database.json() == filled.json() == stored.json()
    assert filled["ETag"] == stored["ETag"] == from_database["ETag"]


def test_a_search_page_serves_the_stored_details_of_its_books(api_client: APIClient, searchable: list[int]) -> None:
    """Details stored by reading the books one by one make a later search page; the reverse holds too."""
    for book_id in searchable[:6]:
        assert api_client.get(f"/api/v1/books/{book_id}").status_code == 200
    page = api_client.get("/api/v1/books", {"search": "dune", "page_size": 100}).json()["results"]
    details = {book_id: api_client.get(f"/api/v1/books/{book_id}").json() for book_id in searchable[6:13]}
    by_id = {book["id"]: book for book in page}
    assert set(details) <= set(by_id)
    assert all(by_id[book_id] == detail for book_id, detail in details.items())
    assert searchable[13] not in by_id  # inactive: not for the public


def test_staff_search_pages_show_inactive_books_and_are_not_made_of_public_documents(
    api_client: APIClient, staff_client: APIClient, searchable: list[int]
) -> None:
    assert api_client.get("/api/v1/books", {"search": "dune", "page_size": 100}).status_code == 200
    staff_page = staff_client.get("/api/v1/books", {"search": "dune", "page_size": 100}).json()["results"]
    inactive = [book for book in staff_page if book["id"] == searchable[13]]
    assert len(inactive) == 1
    assert inactive[0]["is_active"] is False


def test_an_indented_search_page_renders_the_stored_details(api_client: APIClient, searchable: list[int]) -> None:
    api_client.get("/api/v1/books", {"search": "dune"})
    compact = api_client.get("/api/v1/books", {"search": "dune"})
    indented = api_client.get("/api/v1/books", {"search": "dune"}, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200
    assert b'\n  "count"' in indented.content
    assert indented.json() == compact.json()
