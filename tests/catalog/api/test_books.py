"""``/api/v1/books``: shapes, visibility, staff writes, validation, delete-or-deactivate (API.md "Catalog")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.fields import BOOK_FIELD_NAMES
from catalog.models import Book, BookAuthor
from tests.factories import AuthorFactory, BookFactory, GenreFactory, OrderItemFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

# The series number is read inside ``series``; ``work_id``, ``other_formats`` and ``cover`` are read only.
BOOK_KEYS = {"id", *BOOK_FIELD_NAMES, "work_id", "other_formats", "cover", "created_at", "updated_at"} - {
    "series_number"
}


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "isbn": "978-0-441-01359-3",
        "title": "Dune",
        "subtitle": "",
        "description": "Desert planet.",
        "author_ids": [AuthorFactory(name="Frank Herbert").pk],
        "genre_ids": [],
        "publisher": "Ace",
        "published_date": "1965-08-01",
        "language": "en",
        "page_count": 896,
        "price": "9.99",
        "stock": 12,
        "is_active": True,
    }
    body.update(overrides)
    return body


# --- Reading ------------------------------------------------------------------------


def test_book_shape_as_in_the_contract(api_client: APIClient) -> None:
    herbert, anderson = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Kevin J. Anderson")
    genre = GenreFactory(name="Science fiction", slug="science-fiction")
    book = BookFactory(
        isbn="9780441013593",
        title="Dune",
        authors=[herbert, anderson],
        genres=[genre],
        publisher="Ace",
        published_date=date(1965, 8, 1),
        page_count=896,
        price=Decimal("9.99"),
        stock=12,
    )
    response = api_client.get(f"/api/v1/books/{book.pk}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == BOOK_KEYS
    assert body["isbn"] == "9780441013593"
    assert body["authors"] == [
        {"id": herbert.pk, "name": "Frank Herbert"},
        {"id": anderson.pk, "name": "Kevin J. Anderson"},
    ]
    assert body["genres"] == [{"id": genre.pk, "name": "Science fiction", "slug": "science-fiction"}]
    assert body["price"] == "9.99"
    assert body["published_date"] == "1965-08-01"
    assert body["page_count"] == 896
    assert body["stock"] == 12
    assert body["is_active"] is True
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]


def test_authors_are_listed_in_cover_order() -> None:
    first, second = AuthorFactory(name="Zed First"), AuthorFactory(name="Abe Second")
    book = BookFactory(authors=[first, second])
    body = APIClient().get(f"/api/v1/books/{book.pk}").json()
    assert [author["name"] for author in body["authors"]] == ["Zed First", "Abe Second"]


def test_list_is_paginated_and_ordered_by_title(api_client: APIClient) -> None:
    for title in ["Charlie", "Alpha", "Bravo"]:
        BookFactory(title=title)
    body = api_client.get("/api/v1/books", {"page_size": 2}).json()
    assert body["count"] == 3
    assert body["previous"] is None
    assert body["next"] is not None
    assert [book["title"] for book in body["results"]] == ["Alpha", "Bravo"]
    second = api_client.get("/api/v1/books", {"page_size": 2, "page": 2}).json()
    assert [book["title"] for book in second["results"]] == ["Charlie"]
    assert second["next"] is None


def test_page_size_is_capped_at_100(api_client: APIClient) -> None:
    BookFactory.create_batch(101, search_index=False)
    body = api_client.get("/api/v1/books", {"page_size": 500}).json()
    assert len(body["results"]) == 100


@pytest.mark.parametrize("client_name", ["api_client", "customer_client"])
def test_non_staff_see_active_books_only(request: pytest.FixtureRequest, client_name: str) -> None:
    client = request.getfixturevalue(client_name)
    BookFactory(title="On sale")
    hidden = BookFactory(title="Withdrawn", is_active=False)
    body = client.get("/api/v1/books").json()
    assert [book["title"] for book in body["results"]] == ["On sale"]
    assert_envelope(client.get(f"/api/v1/books/{hidden.pk}"), 404, "not_found")


def test_staff_see_inactive_books(staff_client: APIClient) -> None:
    BookFactory(title="On sale")
    hidden = BookFactory(title="Withdrawn", is_active=False)
    body = staff_client.get("/api/v1/books").json()
    assert {book["title"] for book in body["results"]} == {"On sale", "Withdrawn"}
    assert staff_client.get(f"/api/v1/books/{hidden.pk}").json()["is_active"] is False


@pytest.mark.parametrize("book_id", ["999999", "99999999999999999999"])
def test_unknown_book_is_404(api_client: APIClient, book_id: str) -> None:
    assert_envelope(api_client.get(f"/api/v1/books/{book_id}"), 404, "not_found")


# --- Writing: who -------------------------------------------------------------------


def test_anonymous_writes_are_401(api_client: APIClient) -> None:
    book = BookFactory()
    assert_envelope(api_client.post("/api/v1/books", payload(), format="json"), 401, "not_authenticated")
    assert_envelope(
        api_client.patch(f"/api/v1/books/{book.pk}", {"title": "X"}, format="json"), 401, "not_authenticated"
    )
    assert_envelope(api_client.delete(f"/api/v1/books/{book.pk}"), 401, "not_authenticated")


def test_customer_writes_are_403(customer_client: APIClient) -> None:
    book = BookFactory()
    assert_envelope(customer_client.post("/api/v1/books", payload(), format="json"), 403, "permission_denied")
    assert_envelope(customer_client.put(f"/api/v1/books/{book.pk}", payload(), format="json"), 403, "permission_denied")
    assert_envelope(customer_client.delete(f"/api/v1/books/{book.pk}"), 403, "permission_denied")
    assert Book.objects.filter(pk=book.pk).exists()


# --- Writing: staff -----------------------------------------------------------------


def test_staff_create_a_book_with_authors_and_genres(staff_client: APIClient) -> None:
    genre = GenreFactory()
    second = AuthorFactory(name="Brian Herbert")
    body = payload(isbn="0-441-01359-7", genre_ids=[genre.pk])
    body["author_ids"].append(second.pk)
    response = staff_client.post("/api/v1/books", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == BOOK_KEYS
    assert created["isbn"] == "9780441013593"  # ISBN-10 in, ISBN-13 stored
    assert [author["name"] for author in created["authors"]] == ["Frank Herbert", "Brian Herbert"]
    assert [g["slug"] for g in created["genres"]] == [genre.slug]
    assert created["price"] == "9.99"
    book = Book.objects.get(pk=created["id"])
    assert list(BookAuthor.objects.filter(book=book).values_list("author__name", "position")) == [
        ("Frank Herbert", 0),
        ("Brian Herbert", 1),
    ]


def test_create_with_defaults(staff_client: APIClient) -> None:
    body = {"isbn": "9780441013593", "title": "Dune", "price": "12.5", "author_ids": [AuthorFactory().pk]}
    response = staff_client.post("/api/v1/books", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["price"] == "12.50"
    assert created["stock"] == 0
    assert created["language"] == "en"
    assert created["is_active"] is True
    assert created["genres"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"isbn": "978-0-441-01359-4"}, "isbn"),  # wrong check digit
        ({"isbn": "12345"}, "isbn"),
        ({"isbn": "977-0-441-01359-3"}, "isbn"),
        ({"author_ids": []}, "author_ids"),
        ({"author_ids": [999999]}, "author_ids"),
        ({"author_ids": "1"}, "author_ids"),
        ({"genre_ids": [999999]}, "genre_ids"),
        ({"price": "-0.01"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "1.999"}, "price"),
        ({"stock": -1}, "stock"),
        ({"language": "xx"}, "language"),
        ({"language": "eng"}, "language"),
        ({"title": ""}, "title"),
        ({"page_count": -5}, "page_count"),
        ({"published_date": "1965-13-01"}, "published_date"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    staff_client: APIClient, overrides: dict[str, Any], field: str
) -> None:
    before = Book.objects.count()
    error = assert_envelope(
        staff_client.post("/api/v1/books", payload(**overrides), format="json"), 400, "validation_error"
    )
    assert field in error["details"], error
    assert Book.objects.count() == before


def test_missing_authors_is_400(staff_client: APIClient) -> None:
    body = payload()
    del body["author_ids"]
    error = assert_envelope(staff_client.post("/api/v1/books", body, format="json"), 400, "validation_error")
    assert "author_ids" in error["details"]


def test_repeated_author_is_400(staff_client: APIClient) -> None:
    author = AuthorFactory()
    body = payload(author_ids=[author.pk, author.pk])
    error = assert_envelope(staff_client.post("/api/v1/books", body, format="json"), 400, "validation_error")
    assert "author_ids" in error["details"]


def test_duplicate_isbn_in_any_spelling_is_400(staff_client: APIClient) -> None:
    BookFactory(isbn="9780441013593")
    error = assert_envelope(
        staff_client.post("/api/v1/books", payload(isbn="0 441 01359 7"), format="json"), 400, "validation_error"
    )
    assert error["details"] == {"isbn": ["A book with this ISBN already exists."]}
    assert Book.objects.count() == 1


def test_staff_patch_changes_only_the_given_fields(staff_client: APIClient) -> None:
    author = AuthorFactory(name="Kept Author")
    book = BookFactory(title="Old", authors=[author], price=Decimal("5.00"), stock=3)
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"title": "New", "price": "6.00"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["price"], body["stock"]) == ("New", "6.00", 3)
    assert [a["name"] for a in body["authors"]] == ["Kept Author"]


def test_staff_patch_replaces_authors_and_genres(staff_client: APIClient) -> None:
    book = BookFactory(genres=[GenreFactory()])
    new_author, new_genre = AuthorFactory(name="Replacement"), GenreFactory(name="Poetry", slug="poetry")
    response = staff_client.patch(
        f"/api/v1/books/{book.pk}", {"author_ids": [new_author.pk], "genre_ids": [new_genre.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert [a["name"] for a in response.json()["authors"]] == ["Replacement"]
    assert [g["slug"] for g in response.json()["genres"]] == ["poetry"]


def test_staff_put_replaces_the_book(staff_client: APIClient) -> None:
    book = BookFactory(isbn="9780306406157", subtitle="Old subtitle")
    response = staff_client.put(f"/api/v1/books/{book.pk}", payload(subtitle="New subtitle"), format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["isbn"], body["title"], body["subtitle"]) == ("9780441013593", "Dune", "New subtitle")


def test_put_needs_every_required_field(staff_client: APIClient) -> None:
    book = BookFactory()
    error = assert_envelope(
        staff_client.put(f"/api/v1/books/{book.pk}", {"title": "Only a title"}, format="json"), 400, "validation_error"
    )
    assert {"isbn", "price", "author_ids"} <= set(error["details"])


def test_patch_to_another_books_isbn_is_400(staff_client: APIClient) -> None:
    BookFactory(isbn="9780441013593")
    book = BookFactory(isbn="9780306406157")
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"isbn": "0441013597"}, format="json")
    assert_envelope(response, 400, "validation_error")
    book.refresh_from_db()
    assert book.isbn == "9780306406157"


def test_patch_keeping_its_own_isbn_is_fine(staff_client: APIClient) -> None:
    book = BookFactory(isbn="9780441013593")
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"isbn": "0-441-01359-7"}, format="json")
    assert response.status_code == 200, response.content


def test_staff_can_deactivate_and_edit_inactive_books(staff_client: APIClient, api_client: APIClient) -> None:
    book = BookFactory()
    assert staff_client.patch(f"/api/v1/books/{book.pk}", {"is_active": False}, format="json").status_code == 200
    assert api_client.get(f"/api/v1/books/{book.pk}").status_code == 404
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"stock": 4}, format="json")
    assert response.status_code == 200
    assert response.json()["stock"] == 4


def test_malformed_json_is_400(staff_client: APIClient) -> None:
    response = staff_client.generic("POST", "/api/v1/books", "{not json", content_type="application/json")
    assert_envelope(response, 400, "validation_error")


# --- Delete or deactivate --------------------------------------------------------------


def test_delete_removes_a_book_never_ordered(staff_client: APIClient) -> None:
    book = BookFactory()
    response = staff_client.delete(f"/api/v1/books/{book.pk}")
    assert response.status_code == 204
    assert not Book.objects.filter(pk=book.pk).exists()
    assert not BookAuthor.objects.filter(book_id=book.pk).exists()


def test_delete_deactivates_an_ordered_book(staff_client: APIClient, api_client: APIClient) -> None:
    item = OrderItemFactory()
    book = item.book
    response = staff_client.delete(f"/api/v1/books/{book.pk}")
    assert response.status_code == 204
    book.refresh_from_db()
    assert book.is_active is False
    item.refresh_from_db()
    assert item.book_id == book.pk  # order history intact
    assert api_client.get(f"/api/v1/books/{book.pk}").status_code == 404
    assert staff_client.get(f"/api/v1/books/{book.pk}").json()["is_active"] is False
