"""``/api/v1/genres`` (API.md "Catalog"): slug unique, derived from the name when omitted."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import Book, Genre
from tests.factories import BookFactory, GenreFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def create(client: APIClient, **body: str) -> dict[str, object]:
    response = client.post("/api/v1/genres", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_slug_is_derived_from_the_name(staff_client: APIClient) -> None:
    genre = create(staff_client, name="Science Fiction & Fantasy")
    assert genre == {"id": genre["id"], "name": "Science Fiction & Fantasy", "slug": "science-fiction-fantasy"}


def test_derived_slugs_are_made_unique(staff_client: APIClient) -> None:
    assert create(staff_client, name="Poetry")["slug"] == "poetry"
    assert create(staff_client, name="poetry!")["slug"] == "poetry-2"
    assert create(staff_client, name="POETRY")["slug"] == "poetry-3"


def test_accents_are_folded_and_a_name_without_latin_letters_gets_a_generic_slug(staff_client: APIClient) -> None:
    assert create(staff_client, name="Ciencia ficción")["slug"] == "ciencia-ficcion"
    assert create(staff_client, name="Фантастика")["slug"] == "genre"


def test_an_explicit_slug_is_kept(staff_client: APIClient) -> None:
    assert create(staff_client, name="Science fiction", slug="sf")["slug"] == "sf"


def test_a_taken_explicit_slug_is_400(staff_client: APIClient) -> None:
    GenreFactory(slug="sf")
    error = assert_envelope(
        staff_client.post("/api/v1/genres", {"name": "Other", "slug": "sf"}, format="json"), 400, "validation_error"
    )
    assert error["details"] == {"slug": ["A genre with this slug already exists."]}


@pytest.mark.parametrize("slug", ["has space", "ünïcode", ""])
def test_an_invalid_slug_is_400(staff_client: APIClient, slug: str) -> None:
    error = assert_envelope(
        staff_client.post("/api/v1/genres", {"name": "Other", "slug": slug}, format="json"), 400, "validation_error"
    )
    assert "slug" in error["details"]


def test_renaming_keeps_the_slug_unless_given(staff_client: APIClient) -> None:
    genre = GenreFactory(name="Sci-fi", slug="sci-fi")
    response = staff_client.patch(f"/api/v1/genres/{genre.pk}", {"name": "Science fiction"}, format="json")
    assert response.json() == {"id": genre.pk, "name": "Science fiction", "slug": "sci-fi"}
    response = staff_client.patch(f"/api/v1/genres/{genre.pk}", {"slug": "science-fiction"}, format="json")
    assert response.json()["slug"] == "science-fiction"


def test_changing_to_a_taken_slug_is_400(staff_client: APIClient) -> None:
    GenreFactory(slug="taken")
    genre = GenreFactory(slug="mine")
    assert_envelope(
        staff_client.patch(f"/api/v1/genres/{genre.pk}", {"slug": "taken"}, format="json"), 400, "validation_error"
    )
    genre.refresh_from_db()
    assert genre.slug == "mine"


def test_list_by_name(api_client: APIClient) -> None:
    GenreFactory(name="Poetry", slug="poetry")
    GenreFactory(name="Drama", slug="drama")
    body = api_client.get("/api/v1/genres").json()
    assert [g["name"] for g in body["results"]] == ["Drama", "Poetry"]


def test_deleting_a_genre_with_books_is_409_conflict_and_changes_nothing(staff_client: APIClient) -> None:
    genre = GenreFactory()
    books = [BookFactory(genres=[genre]), BookFactory(genres=[genre], is_active=False)]

    error = assert_envelope(staff_client.delete(f"/api/v1/genres/{genre.pk}"), 409, "conflict")

    assert error["details"] == {"book_count": 2}
    assert Genre.objects.filter(pk=genre.pk).exists()
    assert all(list(Book.objects.get(pk=book.pk).genres.all()) == [genre] for book in books)


def test_deleting_a_genre_without_books(staff_client: APIClient) -> None:
    genre = GenreFactory()
    BookFactory()
    assert staff_client.delete(f"/api/v1/genres/{genre.pk}").status_code == 204
    assert not Genre.objects.filter(pk=genre.pk).exists()


def test_customers_and_anonymous_cannot_write(customer_client: APIClient, api_client: APIClient) -> None:
    assert_envelope(customer_client.post("/api/v1/genres", {"name": "X"}, format="json"), 403, "permission_denied")
    assert_envelope(api_client.post("/api/v1/genres", {"name": "X"}, format="json"), 401, "not_authenticated")
    assert api_client.get("/api/v1/genres").status_code == 200
