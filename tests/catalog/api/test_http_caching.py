"""HTTP caching of catalog reads (API.md "General additions") and the stored book documents behind them.

Catalog GETs send ``ETag``; anonymous callers get ``Cache-Control: public,
max-age=...``, signed-in callers ``no-store``; a matching ``If-None-Match`` is
a ``304`` without a body. Book details and list pages without ``search`` are
answered from stored documents for the public catalog, identical to the
response they were rendered from.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bookstore import replicas
from bookstore.replicas import RoutingState
from tests.factories import AuthorFactory, BookFactory, GenreFactory, SeriesFactory

pytestmark = pytest.mark.django_db

_VOLATILE = {"date", "x-request-id"}


@pytest.fixture
def book() -> Any:
    series = SeriesFactory()
    return BookFactory(genres=[GenreFactory()], series=series, series_number=1)


def _paths(book: Any) -> list[str]:
    return [
        "/api/v1/books",
        f"/api/v1/books/{book.pk}",
        "/api/v1/books?genre=" + book.genres.get().slug,
        "/api/v1/books?search=book",
        "/api/v1/authors",
        f"/api/v1/authors/{book.author_links.get().author_id}",
        "/api/v1/genres",
        "/api/v1/series",
        f"/api/v1/series/{book.series_id}",
    ]


def _headers(response: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in response.items() if name.lower() not in _VOLATILE}


def test_anonymous_catalog_reads_are_public_with_an_etag(api_client: APIClient, book: Any, settings: Any) -> None:
    settings.CATALOG_MAX_AGE = 17
    for path in _paths(book):
        response = api_client.get(path)
        assert response.status_code == 200, path
        assert re.fullmatch(r'"[0-9a-f]{32}"', response["ETag"]), path
        assert response["Cache-Control"] == "public, max-age=17", path
        assert "Authorization" in response["Vary"], path


def test_a_matching_if_none_match_is_304_without_a_body(api_client: APIClient, book: Any) -> None:
    for path in _paths(book):
        for _ in range(2):  # rendered, then (books) from the stored document
            etag = api_client.get(path)["ETag"]
            for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
                response = api_client.get(path, HTTP_IF_NONE_MATCH=header)
                assert response.status_code == 304, (path, header)
                assert response.content == b""
                assert response["ETag"] == etag
                assert response["Cache-Control"].startswith("public")
            assert api_client.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_signed_in_callers_get_no_store_and_an_etag(customer_client: APIClient, book: Any) -> None:
    for path in _paths(book):
        response = customer_client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "no-store", path
        etag = response["ETag"]
        again = customer_client.get(path, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304, path
        assert again["Cache-Control"] == "no-store"


def test_the_etag_follows_the_content(api_client: APIClient, staff_client: APIClient, book: Any) -> None:
    before = api_client.get(f"/api/v1/books/{book.pk}")["ETag"]
    assert api_client.get(f"/api/v1/books/{book.pk}")["ETag"] == before
    assert staff_client.patch(f"/api/v1/books/{book.pk}", {"price": "11.00"}, format="json").status_code == 200
    after = api_client.get(f"/api/v1/books/{book.pk}", HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200
    assert after["ETag"] != before
    assert after.json()["price"] == "11.00"


@pytest.mark.parametrize("kind", ["detail", "list", "filtered list"])
def test_a_stored_document_is_the_response_it_was_rendered_from(
    api_client: APIClient, book: Any, django_assert_num_queries: Any, kind: str
) -> None:
    BookFactory.create_batch(3)
    path = {
        "detail": f"/api/v1/books/{book.pk}",
        "list": "/api/v1/books?page_size=2&page=2",
        "filtered list": "/api/v1/books?in_stock=true&ordering=-price,title",
    }[kind]
    rendered = api_client.get(path)
    with django_assert_num_queries(0):
        stored = api_client.get(path)
    assert stored.status_code == rendered.status_code == 200
    assert stored.content == rendered.content
    assert _headers(stored) == _headers(rendered)


def test_customers_read_the_stored_documents(api_client: APIClient, customer_client: APIClient, book: Any) -> None:
    first = api_client.get(f"/api/v1/books/{book.pk}")
    with CaptureQueriesContext(connection) as queries:
        response = customer_client.get(f"/api/v1/books/{book.pk}")
    assert response.content == first.content
    assert not [q["sql"] for q in queries.captured_queries if '"books"' in q["sql"]]


def test_staff_never_read_the_stored_documents(api_client: APIClient, staff_client: APIClient, book: Any) -> None:
    hidden = BookFactory(is_active=False)
    assert hidden.pk not in [b["id"] for b in api_client.get("/api/v1/books").json()["results"]]
    assert api_client.get("/api/v1/books").status_code == 200  # now stored
    response = staff_client.get("/api/v1/books")
    assert hidden.pk in [b["id"] for b in response.json()["results"]]
    assert staff_client.get(f"/api/v1/books/{hidden.pk}").status_code == 200
    assert api_client.get(f"/api/v1/books/{hidden.pk}").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["search=book", "search=", "search=book&highlight=true", "unknown=1", "page=9"],
)
def test_search_pages_unknown_parameters_and_errors_are_never_stored(
    api_client: APIClient, book: Any, query: str
) -> None:
    first = api_client.get(f"/api/v1/books?{query}")
    with CaptureQueriesContext(connection) as queries:
        second = api_client.get(f"/api/v1/books?{query}")
    assert second.status_code == first.status_code
    assert queries.captured_queries, "answered from a stored document"


def test_reads_without_a_reachable_cache_still_answer(api_client: APIClient, book: Any, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    for path in (f"/api/v1/books/{book.pk}", "/api/v1/books"):
        for _ in range(2):
            response = api_client.get(path)
            assert response.status_code == 200
            assert response["ETag"]


def test_a_stock_change_keeps_other_books_stored(
    api_client: APIClient, customer_client: APIClient, book: Any, django_assert_num_queries: Any
) -> None:
    other = BookFactory()
    for pk in (book.pk, other.pk):
        api_client.get(f"/api/v1/books/{pk}")
    placed = customer_client.post(
        "/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}]}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert placed.status_code == 201, placed.content
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["stock"] == 9
    with django_assert_num_queries(0):
        assert api_client.get(f"/api/v1/books/{other.pk}").json()["stock"] == 10


def test_an_author_rename_reaches_their_books(api_client: APIClient, staff_client: APIClient) -> None:
    author = AuthorFactory(name="Old Name")
    book = BookFactory(authors=[author])
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["authors"][0]["name"] == "Old Name"
    assert staff_client.patch(f"/api/v1/authors/{author.pk}", {"name": "New Name"}, format="json").status_code == 200
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["authors"][0]["name"] == "New Name"
    assert api_client.get("/api/v1/books").json()["results"][0]["authors"][0]["name"] == "New Name"


def test_a_miss_is_filled_from_the_primary_and_a_hit_reads_no_database(api_client: APIClient, book: Any) -> None:
    """With read replicas, a document must not be filled from a replica that has not caught up yet."""
    for path in (f"/api/v1/books/{book.pk}", "/api/v1/books"):
        filling = RoutingState()
        token = replicas._state.set(filling)
        try:
            api_client.get(path)
            assert filling.pinned  # every read of the fill went to the primary
            hit = RoutingState()
            replicas._state.set(hit)
            api_client.get(path)
            assert not hit.pinned
        finally:
            replicas._state.reset(token)
