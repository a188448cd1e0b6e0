"""List counts: exact up to LIST_EXACT_COUNT_LIMIT (10,000), beyond it PostgreSQL's estimate with count_is_estimate."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db

ESTIMATES = connection.vendor == "postgresql"


def analyze() -> None:
    """Fresh planner statistics (autovacuum may have analyzed the tables while earlier tests filled them)."""
    if ESTIMATES:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE books, book_search")


@pytest.fixture
def small_limit(settings: Any) -> int:
    settings.LIST_EXACT_COUNT_LIMIT = 5
    return 5


def test_the_default_limit_is_the_contracts_10000() -> None:
    assert django_settings.LIST_EXACT_COUNT_LIMIT == 10_000


def test_counts_up_to_the_limit_are_exact(api_client: APIClient, small_limit: int) -> None:
    BookFactory.create_batch(5, description="Spice.")
    analyze()
    body = api_client.get("/api/v1/books").json()
    assert body["count"] == 5
    assert "count_is_estimate" not in body
    body = api_client.get("/api/v1/books", {"search": "spice"}).json()
    assert body["count"] == 5
    assert "count_is_estimate" not in body


def test_beyond_the_limit_postgresql_estimates(api_client: APIClient, small_limit: int) -> None:
    BookFactory.create_batch(9, description="Spice.")
    BookFactory(description="Sand.", is_active=False)
    analyze()
    for params in ({}, {"search": "spice"}, {"language": "en"}):
        body = api_client.get("/api/v1/books", {**params, "page_size": 2}).json()
        assert len(body["results"]) == 2
        if ESTIMATES:
            assert body["count_is_estimate"] is True
            assert body["count"] > small_limit  # the planner's guess, never below what was counted
            assert list(body)[:2] == ["count", "count_is_estimate"]
        else:  # SQLite has no planner estimate: it counts exactly
            assert body["count"] == 9
            assert "count_is_estimate" not in body


def test_pages_after_an_estimated_count_are_still_served(api_client: APIClient, small_limit: int) -> None:
    BookFactory.create_batch(9, description="Spice.")
    seen = []
    for page in (1, 2, 3):
        response = api_client.get("/api/v1/books", {"search": "spice", "page_size": 3, "page": page})
        assert response.status_code == 200
        seen += [book["id"] for book in response.json()["results"]]
    assert len(set(seen)) == 9


def test_search_ranks_a_bounded_candidate_set_but_pages_never_overlap(api_client: APIClient, monkeypatch: Any) -> None:
    import catalog.search

    monkeypatch.setattr(catalog.search, "RANKED_CANDIDATES", 4)
    author = AuthorFactory(name="Ann Roe")
    books = [BookFactory(title=f"Spice {i}", authors=[author], description="Spice.") for i in range(10)]
    if connection.vendor == "postgresql":
        # Writing their rows again puts the best-ranked books last in the table, so the index yields them last:
        # the pages past the ranked candidates must still continue the order, not rank a longer prefix anew.
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH gone AS (DELETE FROM book_search WHERE book_id = ANY(%s) RETURNING *)"
                " INSERT INTO book_search SELECT * FROM gone",
                [[book.pk for book in books[:5]]],
            )
    seen = []
    for page in (1, 2, 3, 4):
        body = api_client.get("/api/v1/books", {"search": "spice", "page_size": 3, "page": page}).json()
        seen += [book["id"] for book in body["results"]]
    assert len(seen) == len(set(seen)) == 10


def test_next_links_follow_the_rows_when_the_count_is_estimated(api_client: APIClient, small_limit: int) -> None:
    BookFactory.create_batch(9, description="Spice.")
    first = api_client.get("/api/v1/books", {"page_size": 4}).json()
    assert first["next"] is not None
    last = api_client.get("/api/v1/books", {"page_size": 4, "page": 3}).json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert api_client.get("/api/v1/books", {"page_size": 4, "page": 0}).status_code == 400


def test_a_search_with_genre_and_credit_filters_counts_exactly_up_to_the_limit(
    api_client: APIClient, staff_client: APIClient, small_limit: int
) -> None:
    """Counted from the index and the link tables on PostgreSQL: the same numbers as a brute-force count."""
    from tests.factories import GenreFactory

    fantasy, poetry = GenreFactory(slug="fantasy"), GenreFactory(slug="poetry")
    herbert, other = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Ann Other")
    BookFactory(title="Church one", genres=[fantasy], authors=[herbert])
    BookFactory(title="Church two", genres=[fantasy, poetry], authors=[other])
    BookFactory(title="Church three", genres=[poetry], authors=[herbert])
    BookFactory(title="Church hidden", genres=[fantasy], authors=[herbert], is_active=False)
    BookFactory(title="Chapel", genres=[fantasy], authors=[herbert])
    BookFactory(title="Church four", genres=[fantasy], contributors=[(other, "illustrator"), (herbert, "author")])
    analyze()
    cases = [
        ({"genre": "fantasy"}, 3, 4),
        ({"genre": "fantasy,poetry"}, 4, 5),
        ({"genre": "poetry"}, 2, 2),
        ({"author": str(herbert.pk)}, 3, 4),
        ({"author": str(other.pk)}, 1, 1),  # an illustrator is not an author
        ({"contributor": str(other.pk)}, 2, 2),
        ({"genre": "fantasy", "author": str(herbert.pk)}, 2, 3),
        ({"genre": "poetry", "author": str(other.pk)}, 1, 1),
    ]
    for params, shown, staff_sees in cases:
        body = api_client.get("/api/v1/books", {"search": "church", **params}).json()
        assert (body["count"], "count_is_estimate" in body) == (shown, False), params
        assert len(body["results"]) == shown
        body = staff_client.get("/api/v1/books", {"search": "church", **params}).json()
        assert body["count"] == staff_sees, params


def test_a_search_with_a_genre_beyond_the_limit_is_estimated_on_postgresql(
    api_client: APIClient, small_limit: int
) -> None:
    from tests.factories import GenreFactory

    fantasy = GenreFactory(slug="fantasy")
    BookFactory.create_batch(8, title="Church", genres=[fantasy])
    BookFactory.create_batch(3, title="Church")
    analyze()
    body = api_client.get("/api/v1/books", {"search": "church", "genre": "fantasy", "ordering": "price"}).json()
    if ESTIMATES:
        assert body["count_is_estimate"] is True
        assert body["count"] > small_limit
    else:
        assert body["count"] == 8
        assert "count_is_estimate" not in body
