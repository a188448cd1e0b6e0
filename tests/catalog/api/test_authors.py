"""``/api/v1/authors`` (API.md "Catalog")."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import Author
from tests.factories import AuthorFactory, BookFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def test_author_shape_and_book_count_of_active_books(api_client: APIClient) -> None:
    author = AuthorFactory(name="Frank Herbert", bio="American author.")
    BookFactory(authors=[author])
    BookFactory(authors=[author, AuthorFactory()])
    BookFactory(authors=[author], is_active=False)
    body = api_client.get(f"/api/v1/authors/{author.pk}").json()
    assert body == {"id": author.pk, "name": "Frank Herbert", "bio": "American author.", "book_count": 2}


def test_list_by_name_with_counts(api_client: APIClient) -> None:
    AuthorFactory(name="Zadie Smith")
    BookFactory(authors=[AuthorFactory(name="Anne Carson")])
    body = api_client.get("/api/v1/authors").json()
    assert body["count"] == 2
    assert [(a["name"], a["book_count"]) for a in body["results"]] == [("Anne Carson", 1), ("Zadie Smith", 0)]


def test_search_is_a_case_insensitive_substring_of_the_name(api_client: APIClient) -> None:
    AuthorFactory(name="Ursula K. Le Guin")
    AuthorFactory(name="Frank Herbert")
    AuthorFactory(name="Brian Herbert")
    body = api_client.get("/api/v1/authors", {"search": "HERB"}).json()
    assert [a["name"] for a in body["results"]] == ["Brian Herbert", "Frank Herbert"]
    assert api_client.get("/api/v1/authors", {"search": "le gu"}).json()["count"] == 1
    assert api_client.get("/api/v1/authors", {"search": "ab\x00c"}).status_code == 200


def test_ordering_by_book_count(api_client: APIClient) -> None:
    busy = AuthorFactory(name="Busy")
    AuthorFactory(name="Idle")
    BookFactory.create_batch(2, authors=[busy])
    body = api_client.get("/api/v1/authors", {"ordering": "-book_count"}).json()
    assert [a["name"] for a in body["results"]] == ["Busy", "Idle"]
    assert_envelope(api_client.get("/api/v1/authors", {"ordering": "bio"}), 400, "validation_error")


def test_staff_create_update_delete(staff_client: APIClient) -> None:
    response = staff_client.post("/api/v1/authors", {"name": "N. K. Jemisin", "bio": ""}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created == {"id": created["id"], "name": "N. K. Jemisin", "bio": "", "book_count": 0}

    response = staff_client.patch(f"/api/v1/authors/{created['id']}", {"bio": "Hugo winner."}, format="json")
    assert response.status_code == 200
    assert response.json()["bio"] == "Hugo winner."

    response = staff_client.put(f"/api/v1/authors/{created['id']}", {"name": "Nora K. Jemisin"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Nora K. Jemisin"

    assert staff_client.delete(f"/api/v1/authors/{created['id']}").status_code == 204
    assert not Author.objects.filter(pk=created["id"]).exists()


def test_blank_name_is_400(staff_client: APIClient) -> None:
    error = assert_envelope(staff_client.post("/api/v1/authors", {"name": ""}, format="json"), 400, "validation_error")
    assert "name" in error["details"]


def test_deleting_an_author_with_books_is_409_conflict(staff_client: APIClient) -> None:
    author = AuthorFactory()
    BookFactory(authors=[author], is_active=False)  # inactive books count too: the credit must stay
    error = assert_envelope(staff_client.delete(f"/api/v1/authors/{author.pk}"), 409, "conflict")
    assert error["details"] == {"book_count": 1}
    assert Author.objects.filter(pk=author.pk).exists()


def test_customers_and_anonymous_cannot_write(customer_client: APIClient, api_client: APIClient) -> None:
    author = AuthorFactory()
    assert_envelope(customer_client.post("/api/v1/authors", {"name": "X"}, format="json"), 403, "permission_denied")
    assert_envelope(customer_client.delete(f"/api/v1/authors/{author.pk}"), 403, "permission_denied")
    assert_envelope(
        api_client.patch(f"/api/v1/authors/{author.pk}", {"name": "X"}, format="json"), 401, "not_authenticated"
    )
