"""Staff's synonyms: both ways or one way, effective at the next search, never query syntax."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import Book, SearchSynonym
from catalog.search import book_search
from catalog.search import synonyms as synonyms_module
from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books() -> None:
    BookFactory(title="A Short History of Science Fiction", authors=[AuthorFactory(name="Ann Roe")], description=".")
    BookFactory(title="Sci-Fi Classics", authors=[AuthorFactory(name="Bo Li")], description=".")
    BookFactory(
        title="Harry Potter and the Chamber of Secrets", authors=[AuthorFactory(name="J. K. Rowling")], description="."
    )
    BookFactory(title="HP LaserJet Manual", authors=[AuthorFactory(name="Hewlett Packard")], description=".")


def found(query: str) -> set[str]:
    return {book.title for book in book_search(Book.objects.all(), query)}


def api_found(client: APIClient, query: str) -> set[str]:
    response = client.get("/api/v1/books", {"search": query})
    assert response.status_code == 200, response.content
    return {book["title"] for book in response.json()["results"]}


def test_a_two_way_synonym_works_both_ways(books: None, api_client: APIClient) -> None:
    assert found("sci-fi ") == {"Sci-Fi Classics"}
    SearchSynonym.objects.create(term="sci-fi", synonym="science fiction", both_ways=True)
    both = {"A Short History of Science Fiction", "Sci-Fi Classics"}
    assert found("sci-fi ") == both
    assert found("science fiction ") == both
    assert found('"science fiction"') == both
    assert api_found(api_client, "SCI FI") == both


def test_a_one_way_synonym_works_one_way(books: None) -> None:
    SearchSynonym.objects.create(term="hp", synonym="harry potter", both_ways=False)
    assert found("hp ") == {"Harry Potter and the Chamber of Secrets", "HP LaserJet Manual"}
    assert found("harry potter ") == {"Harry Potter and the Chamber of Secrets"}


def test_a_synonym_combines_with_the_other_words(books: None) -> None:
    SearchSynonym.objects.create(term="hp", synonym="harry potter", both_ways=False)
    assert found("hp chamber") == {"Harry Potter and the Chamber of Secrets"}
    assert found("hp -chamber") == {"HP LaserJet Manual"}


def test_synonyms_take_effect_at_once_and_stop_when_deleted(books: None, api_client: APIClient) -> None:
    assert api_found(api_client, "hp ") == {"HP LaserJet Manual"}
    synonym = SearchSynonym.objects.create(term="hp", synonym="harry potter", both_ways=False)
    assert api_found(api_client, "hp ") == {"Harry Potter and the Chamber of Secrets", "HP LaserJet Manual"}
    synonym.delete()
    assert api_found(api_client, "hp ") == {"HP LaserJet Manual"}


@pytest.mark.parametrize(
    "hostile",
    ['"', "*", "NEAR(", "OR", "AND NOT", "'; DROP TABLE books; --", "dune:*", "a & b | !c", "\\", "(", "😀"],
)
def test_hostile_synonyms_are_only_words(books: None, hostile: str, api_client: APIClient) -> None:
    SearchSynonym.objects.create(term="hp", synonym=hostile, both_ways=True)
    SearchSynonym.objects.create(term=hostile + " x", synonym="harry", both_ways=True)
    for query in ["hp", hostile, hostile + " x", "harry"]:
        list(book_search(Book.objects.all(), query))
        assert api_client.get("/api/v1/books", {"search": query}).status_code == 200
    assert Book.objects.count() == 4


def test_admin_adds_a_synonym_through_its_form(books: None, admin_user: object) -> None:
    client = Client()
    client.force_login(admin_user)  # type: ignore[arg-type]
    response = client.post(
        "/admin/catalog/searchsynonym/add/", {"term": "sci-fi", "synonym": "science fiction", "both_ways": "on"}
    )
    assert response.status_code == 302, response.content
    assert found("science fiction ") == {"A Short History of Science Fiction", "Sci-Fi Classics"}
    response = client.post("/admin/catalog/searchsynonym/add/", {"term": "***", "synonym": "x"})
    assert response.status_code == 200  # the form says why: no words
    assert SearchSynonym.objects.count() == 1
    assert SearchSynonym in site._registry


def _synonym_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "search_synonyms" in q["sql"]]


def test_synonyms_are_read_from_the_cache_until_one_changes(books: None, api_client: APIClient) -> None:
    SearchSynonym.objects.create(term="hp", synonym="harry potter", both_ways=False)
    both = {"Harry Potter and the Chamber of Secrets", "HP LaserJet Manual"}
    assert api_found(api_client, "hp ") == both  # fills the cache
    with CaptureQueriesContext(connection) as queries:
        assert api_found(api_client, "hp ") == both
        assert found("hp ") == both
    assert _synonym_queries(queries) == []
    SearchSynonym.objects.filter(term="hp").update(both_ways=True)  # an update that sends no signal: still cached
    with CaptureQueriesContext(connection) as queries:
        assert found("harry potter ") == {"Harry Potter and the Chamber of Secrets"}
    assert _synonym_queries(queries) == []
    SearchSynonym.objects.get(term="hp").save()  # any save replaces the token
    with CaptureQueriesContext(connection) as queries:
        assert found("harry potter ") == both
    assert len(_synonym_queries(queries)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_synonym_committed_while_another_search_loads_them_is_not_hidden(books: None) -> None:
    """The cache keeps the synonyms under the token read before the database: a write committing in between
    (here: during the load) makes the stored, older set unreachable."""
    real_load = synonyms_module.synonyms_load

    def load_then_commit_a_synonym(using: str | None = None) -> synonyms_module.Synonyms:
        loaded = real_load(using)
        with transaction.atomic():
            SearchSynonym.objects.create(term="hp", synonym="harry potter", both_ways=False)
        return loaded

    synonyms_module.synonyms_load = load_then_commit_a_synonym  # type: ignore[assignment]
    try:
        assert found("hp ") == {"HP LaserJet Manual"}  # loaded before the synonym was committed
    finally:
        synonyms_module.synonyms_load = real_load  # type: ignore[assignment]
    assert found("hp ") == {"Harry Potter and the Chamber of Secrets", "HP LaserJet Manual"}
    with transaction.atomic():
        SearchSynonym.objects.filter(term="hp").delete()
    assert found("hp ") == {"HP LaserJet Manual"}


def test_without_the_cache_synonyms_come_from_the_database(books: None, settings: Any) -> None:
    settings.CATALOG_CACHE_SECONDS = 0
    SearchSynonym.objects.create(term="hp", synonym="harry potter", both_ways=False)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert found("hp ") == {"Harry Potter and the Chamber of Secrets", "HP LaserJet Manual"}
        assert len(_synonym_queries(queries)) == 1
