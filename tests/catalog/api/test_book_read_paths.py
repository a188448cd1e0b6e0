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
