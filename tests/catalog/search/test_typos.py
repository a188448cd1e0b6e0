"""Typo tolerance (``GET /books?search=`` and ``book_search_tolerant``): the Meilisearch budget, did_you_mean, exact first.

Runs unchanged on SQLite (trigram table) and PostgreSQL (pg_trgm): same corrections, same books.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Book
from catalog.search import book_search_tolerant
from catalog.search.typos import typo_budget, typo_distance
from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf() -> dict[str, Book]:
    return {
        "sawyer": BookFactory(
            title="The Adventures of Tom Sawyer", authors=[AuthorFactory(name="Mark Twain")], description="A river."
        ),
        "compass": BookFactory(
            title="The Golden Compass", authors=[AuthorFactory(name="Philip Pullman")], description="Dust."
        ),
        "archive": BookFactory(
            title="The Stormlight Archive", authors=[AuthorFactory(name="Brandon Sanderson")], description="Storms."
        ),
        "strange": BookFactory(
            title="Jonathan Strange and Mr Norrell",
            authors=[AuthorFactory(name="Susanna Clarke")],
            description="Magic returns.",
        ),
        "dune": BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")], description="Sand."),
        "dome": BookFactory(
            title="Under the Dome", authors=[AuthorFactory(name="Stephen King")], description="A town."
        ),
    }


def search(client: APIClient, query: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/books", {"search": query, **params})
    assert response.status_code == 200, response.content
    return response.json()


def titles(body: dict[str, Any]) -> list[str]:
    return [book["title"] for book in body["results"]]


def test_budget_follows_the_meilisearch_rule() -> None:
    assert [typo_budget("x" * n) for n in (1, 4, 5, 8, 9, 20)] == [0, 0, 1, 1, 2, 2]


def test_distance_counts_insertions_deletions_substitutions_and_swaps() -> None:
    assert typo_distance("sawyr", "sawyer", 2) == 1  # insertion
    assert typo_distance("compasss", "compass", 2) == 1  # deletion
    assert typo_distance("archeve", "archive", 2) == 1  # substitution
    assert typo_distance("arhcive", "archive", 2) == 1  # neighbours swapped
    assert typo_distance("stromlihgt", "stormlight", 2) == 2
    assert typo_distance("abcdef", "uvwxyz", 2) == 3  # capped at the limit + 1


@pytest.mark.parametrize(
    ("query", "expected", "meant"),
    [
        ("Sawyr", "The Adventures of Tom Sawyer", "sawyer"),  # 5 letters, one typo
        ("Archve", "The Stormlight Archive", "archive"),
        ("Pullmna", "The Golden Compass", "pullman"),  # swapped neighbours count once
        ("Stromlihgt", "The Stormlight Archive", "stormlight"),  # 10 letters, two typos
    ],
)
def test_a_typo_within_the_budget_is_corrected(
    api_client: APIClient, shelf: dict[str, Book], query: str, expected: str, meant: str
) -> None:
    body = search(api_client, query)
    assert titles(body) == [expected]
    assert body["did_you_mean"] == meant
    assert body["count"] == 1


def test_the_other_words_stay_in_did_you_mean(api_client: APIClient, shelf: dict[str, Book]) -> None:
    body = search(api_client, "golden compas ")  # ends in a space: no prefix help for "compas"
    assert titles(body) == ["The Golden Compass"]
    assert body["did_you_mean"] == "golden compass"


def test_two_typos_in_a_word_under_nine_letters_are_not_corrected(
    api_client: APIClient, shelf: dict[str, Book]
) -> None:
    body = search(api_client, "Sarwyr")  # 6 letters, two typos away from sawyer
    assert body["count"] == 0
    assert "did_you_mean" not in body


def test_short_words_are_never_corrected(api_client: APIClient, shelf: dict[str, Book]) -> None:
    body = search(api_client, "Dume ")  # 4 letters: dune and dome are one typo away, yet no correction
    assert body["count"] == 0
    assert "did_you_mean" not in body


def test_a_word_with_enough_books_is_not_retried(api_client: APIClient, shelf: dict[str, Book]) -> None:
    # "stranger" finds three books as typed: no retry, although "strange" is one typo away.
    for title in ("Stranger in a Strange Land", "The Stranger", "Stranger Things Happen"):
        BookFactory(title=title, authors=[AuthorFactory(name="Ann Roe")], description=".")
    exact = search(api_client, "stranger ")
    assert "did_you_mean" not in exact
    assert exact["count"] == 3
    corrected = search(api_client, "strangr ")  # nothing as typed: "strange" and "stranger" are one typo away
    assert corrected["did_you_mean"] in {"stranger", "strange"}
    assert corrected["count"] == 4


def test_exact_beats_corrected_even_when_the_corrected_one_is_a_title_match(shelf: dict[str, Book]) -> None:
    # "compas" is in one book's description only (descriptions are not in the vocabulary); "compass",
    # one typo away, is a title word. Too few results: the retry finds the title, ranked after.
    described = BookFactory(title="Sea Charts", authors=[AuthorFactory(name="Ann Roe")], description="An old compas.")
    results = book_search_tolerant(Book.objects.all(), "compas ")
    assert results.did_you_mean == "compass"
    assert list(results.queryset) == [described, shelf["compass"]]
    assert list(results.page(0, 20)) == [described, shelf["compass"]]


def test_a_known_word_is_not_corrected(api_client: APIClient, shelf: dict[str, Book]) -> None:
    body = search(api_client, "golden sawyer")  # both known words, no book has both
    assert body["count"] == 0
    assert "did_you_mean" not in body


def test_a_correction_that_finds_nothing_more_is_not_offered(api_client: APIClient, shelf: dict[str, Book]) -> None:
    body = search(api_client, "sawyr -tom")  # the corrected query's only book is excluded
    assert body["count"] == 0
    assert "did_you_mean" not in body


def test_corrections_come_from_new_books_at_once(
    api_client: APIClient, shelf: dict[str, Book], staff_client: APIClient
) -> None:
    assert search(api_client, "Wintersmiht")["count"] == 0
    author_id = AuthorFactory(name="Terry Pratchett").pk
    created = staff_client.post(
        "/api/v1/books",
        {"isbn": "9780060890315", "title": "Wintersmith", "author_ids": [author_id], "price": "9.99"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = search(api_client, "Wintersmiht")
    assert titles(body) == ["Wintersmith"]
    assert body["did_you_mean"] == "wintersmith"


def test_filters_apply_to_corrected_results(api_client: APIClient, shelf: dict[str, Book]) -> None:
    assert search(api_client, "Sawyr", in_stock="false")["count"] == 0
    assert search(api_client, "Sawyr", in_stock="true")["count"] == 1
