"""Catalog lists run a fixed number of queries whatever the page size (ARCHITECTURE.md rule 5)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import AuthorFactory, BookFactory, GenreFactory, SeriesFactory, WorkFactory

pytestmark = pytest.mark.django_db

# COUNT, the page of books with series and works, their credits with authors, their genres, the editions of their works.
BOOK_LIST_QUERIES = 5
# Authenticating a JWT loads the user.
AUTH_QUERIES = 1
# A search reads the synonyms and checks whether the query as typed finds enough books to skip typo tolerance;
# PostgreSQL asks its planner for an estimate instead, and that check is its count (in the search index).
SEARCH_QUERIES = 2
# A search of the public catalog: COUNT and the page's book ids; the books are their stored details, and only those
# not stored yet are read (the four queries of a list page but the COUNT). Synonyms come from the cache once stored.
SEARCH_PAGE_QUERIES = 2
DETAIL_QUERIES = BOOK_LIST_QUERIES - 1
SYNONYMS_QUERIES = 1
# With other filters the search runs on the filtered books: synonyms and the check; PostgreSQL first asks its
# planner whether the query is rare enough to be matched through the index.
FILTERED_SEARCH_QUERIES = 3 if connection.vendor == "postgresql" else 2


@pytest.fixture
def catalog() -> None:
    """105 books with contributors in several roles, in series, and in works of two or three editions."""
    authors = AuthorFactory.create_batch(3)
    genres = GenreFactory.create_batch(2)
    series = SeriesFactory.create_batch(4)
    works = WorkFactory.create_batch(40)
    roles = ["author", "illustrator", "translator", "narrator", "editor", "foreword"]
    for i in range(105):
        BookFactory(
            title=f"Volume {i:03d}",
            contributors=[(authors[i % 3], "author"), (authors[(i + 1) % 3], roles[i % len(roles)])],
            genres=genres,
            series=series[i % 4],
            series_number=i,
            work=works[i % 40],
            format=["hardcover", "paperback", "audio_cd"][i % 3],
        )


def _whole_books(results: list[dict[str, Any]]) -> None:
    assert all(len(book["contributors"]) == 2 and len(book["genres"]) == 2 for book in results)
    assert all(book["series"] is not None and book["other_formats"] for book in results)


@pytest.mark.parametrize("page_size", [5, 100])
def test_book_list_for_anonymous(
    api_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int
) -> None:
    with django_assert_num_queries(BOOK_LIST_QUERIES):
        response = api_client.get("/api/v1/books", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    _whole_books(response.json()["results"])


@pytest.mark.parametrize("page_size", [5, 100])
def test_book_search_for_anonymous(
    api_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int
) -> None:
    params = {"page_size": page_size, "search": "volume"}
    with django_assert_num_queries(SEARCH_QUERIES + SEARCH_PAGE_QUERIES + DETAIL_QUERIES):
        first = api_client.get("/api/v1/books", params)
    # Again: the synonyms and every book of the page are stored.
    with django_assert_num_queries(SEARCH_QUERIES - SYNONYMS_QUERIES + SEARCH_PAGE_QUERIES):
        again = api_client.get("/api/v1/books", params)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(again.json()["results"]) == page_size
    _whole_books(again.json()["results"])


@pytest.mark.parametrize("page_size", [5, 100])
@pytest.mark.parametrize("search", [None, "volume"])
def test_book_list_for_staff_with_filters(
    staff_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int, search: str | None
) -> None:
    params: dict[str, Any] = {"page_size": page_size, "in_stock": "true", "ordering": "-price"}
    if search:
        params["search"] = search
    with django_assert_num_queries(BOOK_LIST_QUERIES + AUTH_QUERIES + (FILTERED_SEARCH_QUERIES if search else 0)):
        response = staff_client.get("/api/v1/books", params)
    assert len(response.json()["results"]) == page_size


def test_book_detail(api_client: APIClient, catalog: None, django_assert_num_queries: Any) -> None:
    book_id = api_client.get("/api/v1/books").json()["results"][0]["id"]
    with django_assert_num_queries(4):  # the book with series and work, its credits, its genres, its work's editions
        body = api_client.get(f"/api/v1/books/{book_id}").json()
    assert len(body["contributors"]) == 2
    assert body["series"] is not None
    assert len(body["other_formats"]) == 2


@pytest.mark.parametrize("page_size", [5, 100])
def test_series_list(api_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int) -> None:
    SeriesFactory.create_batch(101)
    with django_assert_num_queries(2):  # COUNT, the page with book counts
        response = api_client.get("/api/v1/series", {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [2, 100])
def test_author_list(api_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int) -> None:
    AuthorFactory.create_batch(5)
    with django_assert_num_queries(2):  # COUNT, the page with book counts
        response = api_client.get("/api/v1/authors", {"page_size": page_size})
    assert len(response.json()["results"]) == min(page_size, 8)


@pytest.mark.parametrize("page_size", [1, 100])
def test_genre_list(api_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int) -> None:
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/genres", {"page_size": page_size})
    assert len(response.json()["results"]) == min(page_size, 2)


@pytest.mark.parametrize("page_size", [5, 100])
def test_book_list_search_corrected_for_typos(
    api_client: APIClient, catalog: None, django_assert_num_queries: Any, page_size: int
) -> None:
    # "Volme" finds nothing as typed: the near words are looked up (1) and the corrected query checked (1);
    # PostgreSQL first asks for its estimate of the corrected query (1), and the check is the count.
    corrected = 3 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(SEARCH_QUERIES + corrected + SEARCH_PAGE_QUERIES + DETAIL_QUERIES):
        response = api_client.get("/api/v1/books", {"search": "Volme", "page_size": page_size})
    body = response.json()
    assert body["did_you_mean"] == "volume"
    assert len(body["results"]) == page_size
