"""The zero-result log: searches that found nothing, counted per normalised query, listed in the admin."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import SearchMiss
from catalog.search import normalise_query, search_misses_flush
from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books() -> None:
    BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")], description="Sand.")


def misses() -> dict[str, int]:
    """The counts stored so far; with Redis as the cache, after the job moved the waiting ones in."""
    search_misses_flush()
    return dict(SearchMiss.objects.values_list("query", "count"))


def test_queries_are_normalised() -> None:
    assert normalise_query('  "Zyxw"  Qwerty! ') == normalise_query("zyxw QWERTY") == "zyxw qwerty"
    assert normalise_query("García") == "garcia"
    assert normalise_query("-foo bar") == "-foo bar"
    assert normalise_query("!!!") == ""
    assert len(normalise_query("x" * 10_000)) <= 200


def test_a_search_that_finds_nothing_is_counted(books: None, api_client: APIClient) -> None:
    for query in ["Zyxw qwerty", "zyxw   QWERTY", '"zyxw" qwerty', "nothing here"]:
        assert api_client.get("/api/v1/books", {"search": query}).json()["count"] == 0
    assert misses() == {"zyxw qwerty": 3, "nothing here": 1}


def test_searches_that_find_books_are_not_counted(books: None, api_client: APIClient) -> None:
    api_client.get("/api/v1/books", {"search": "dune"})
    api_client.get("/api/v1/books", {"search": "Herbret"})  # found through typo tolerance
    api_client.get("/api/v1/books", {"search": "9780441013593"})  # an ISBN nobody has: counted
    assert misses() == {"9780441013593": 1}


def test_hostile_queries_are_counted_safely(books: None, api_client: APIClient) -> None:
    for query in ["'; DROP TABLE search_misses; --", "*", '"', "x" * 10_240, "\x00"]:
        assert api_client.get("/api/v1/books", {"search": query}).status_code == 200
    assert "drop table search misses" in misses()
    assert all(len(query) <= 200 for query in misses())


def test_admin_lists_them_most_frequent_first(admin_user: Any) -> None:
    SearchMiss.objects.create(query="rare", count=1)
    SearchMiss.objects.create(query="often", count=9)
    SearchMiss.objects.create(query="sometimes", count=4)
    client = Client()
    client.force_login(admin_user)
    page = client.get("/admin/catalog/searchmiss/").content.decode()
    assert page.index("often") < page.index("sometimes") < page.index("rare")
    assert client.get("/admin/catalog/searchmiss/add/").status_code == 403


@pytest.fixture
def redis_cache(settings: Any) -> Any:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"search-misses-test-{os.getpid()}",
        }
    }
    backend = caches["default"]
    yield backend
    backend.clear()


@pytest.mark.requires_redis
def test_with_redis_a_miss_is_a_counter_until_the_flush(books: None, api_client: APIClient, redis_cache: Any) -> None:
    for query in ["zyxw", "ZYXW", "qwerty"]:
        api_client.get("/api/v1/books", {"search": query})
    assert not SearchMiss.objects.exists()  # nothing written during the requests
    assert search_misses_flush() == 2
    assert misses() == {"zyxw": 2, "qwerty": 1}
    assert search_misses_flush() == 0  # a second run moves nothing twice
    api_client.get("/api/v1/books", {"search": "zyxw"})
    search_misses_flush()
    assert misses() == {"zyxw": 3, "qwerty": 1}


@pytest.mark.requires_redis
def test_the_admin_list_shows_misses_still_in_redis(
    books: None, api_client: APIClient, redis_cache: Any, admin_user: Any
) -> None:
    api_client.get("/api/v1/books", {"search": "zyxw"})
    client = Client()
    client.force_login(admin_user)
    assert "zyxw" in client.get("/admin/catalog/searchmiss/").content.decode()
