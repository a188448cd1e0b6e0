"""Full-text search (catalog.search.book_search and ``GET /books?search=``).

Runs unchanged on SQLite (FTS5) and PostgreSQL (tsvector): same books found,
same ranking tiers.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Book
from catalog.search import book_search
from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def library() -> dict[str, Book]:
    herbert = AuthorFactory(name="Frank Herbert")
    garcia = AuthorFactory(name="Gabriel García Márquez")
    le_guin = AuthorFactory(name="Ursula K. Le Guin")
    dune_author = AuthorFactory(name="Amelia Dune")
    king = AuthorFactory(name="Stephen King")
    other = AuthorFactory(name="Jane Roe")
    return {
        "dune": BookFactory(
            isbn="9780441013593",
            title="Dune",
            authors=[herbert],
            description="Spice, sand and politics.",
            publisher="Ace",
        ),
        "messiah": BookFactory(title="Dune Messiah", authors=[herbert], description="The sequel.", publisher="Putnam"),
        "by_dune": BookFactory(title="Sandworm Diaries", authors=[dune_author], description="Letters from a desert."),
        "about_dune": BookFactory(
            title="Reading Deserts",
            authors=[other],
            description="An essay on Dune. Dune, dune and more dune: every Dune reader's companion.",
        ),
        "solitude": BookFactory(
            title="Cien años de soledad", authors=[garcia], description="La familia Buendía.", publisher="Sudamericana"
        ),
        "left_hand": BookFactory(
            title="The Left Hand of Darkness", authors=[le_guin], description="An envoy on the planet Gethen."
        ),
        "hand_left": BookFactory(
            title="A Hand Raised", authors=[other], description="She left the planet and never came back."
        ),
        "running": BookFactory(title="The Running Man", authors=[king], description="A deadly game show."),
    }


def titles(queryset: Any) -> list[str]:
    return [book.title for book in queryset]


def search(query: str) -> list[str]:
    return titles(book_search(Book.objects.all(), query))


def found(query: str) -> set[str]:
    return set(search(query))


def test_all_words_must_match(library: dict[str, Book]) -> None:
    assert found("dune herbert") == {"Dune", "Dune Messiah"}
    assert found("dune herbert politics") == {"Dune"}
    assert found("dune nonexistentword") == set()


def test_a_quoted_phrase_matches_the_words_in_order(library: dict[str, Book]) -> None:
    assert found("left hand") == {"The Left Hand of Darkness", "A Hand Raised"}
    assert found('"left hand"') == {"The Left Hand of Darkness"}
    assert found('"hand left"') == set()
    assert found('"left hand of darkness"') == {"The Left Hand of Darkness"}


def test_a_minus_excludes_a_word_or_phrase(library: dict[str, Book]) -> None:
    assert found("dune -messiah") == {"Dune", "Sandworm Diaries", "Reading Deserts"}
    assert found('planet -"left hand"') == {"A Hand Raised"}
    assert found("herbert -dune") == set()


def test_only_exclusions_return_every_other_book(library: dict[str, Book]) -> None:
    assert found("-dune -planet") == {"Cien años de soledad", "The Running Man"}


def test_english_stemming(library: dict[str, Book]) -> None:
    assert found("run") == {"The Running Man"}
    assert found("runs") == {"The Running Man"}
    assert found("politic") == {"Dune"}
    assert found("readers") == {"Reading Deserts"}  # "reader's" in the description


def test_case_and_accent_insensitive(library: dict[str, Book]) -> None:
    assert found("garcia marquez") == {"Cien años de soledad"}
    assert found("GARCÍA") == {"Cien años de soledad"}
    assert found("anos buendia") == {"Cien años de soledad"}
    assert found("DUNE MESSIAH") == {"Dune Messiah"}


def test_subtitle_author_description_and_publisher_are_searched(library: dict[str, Book]) -> None:
    BookFactory(
        title="Plain Title", subtitle="An Unforgettable Voyage", authors=[AuthorFactory(name="X Y")], description=""
    )
    assert found("unforgettable") == {"Plain Title"}
    assert found("ursula") == {"The Left Hand of Darkness"}
    assert found("gethen") == {"The Left Hand of Darkness"}
    assert found("sudamericana") == {"Cien años de soledad"}


@pytest.mark.parametrize(
    "query",
    ["0-441-01359-7", "0441013597", "978-0-441-01359-3", "978 0 441 01359 3", "9780441013593", "ISBN 0-441-01359-7"],
)
def test_an_isbn_in_any_accepted_form_finds_the_book(library: dict[str, Book], query: str) -> None:
    assert search(query) == ["Dune"]


def test_an_invalid_isbn_finds_nothing(library: dict[str, Book]) -> None:
    assert search("978-0-441-01359-4") == []


def test_best_first_title_then_authors_then_description(library: dict[str, Book]) -> None:
    ranked = search("dune")
    # Dune and Dune Messiah (title) before Sandworm Diaries (author "Amelia Dune")
    # before Reading Deserts, whose description says "dune" five times.
    assert set(ranked[:2]) == {"Dune", "Dune Messiah"}
    assert ranked[2:] == ["Sandworm Diaries", "Reading Deserts"]


def test_ranking_tiers_hold_for_every_word_of_the_query(library: dict[str, Book]) -> None:
    author = AuthorFactory(name="Lighthouse Keeper")
    BookFactory(title="Keeper of the Lighthouse", authors=[AuthorFactory(name="Ann Other")], description="")
    BookFactory(title="Seaside Notes", authors=[author], description="")
    BookFactory(title="Harbour Life", authors=[AuthorFactory(name="Sam Sea")], description="A lighthouse keeper " * 20)
    assert search("lighthouse keeper") == ["Keeper of the Lighthouse", "Seaside Notes", "Harbour Life"]


def test_the_rank_is_annotated_higher_is_better(library: dict[str, Book]) -> None:
    ranks = list(book_search(Book.objects.all(), "dune").values_list("title", "search_rank"))
    assert [rank for _title, rank in ranks] == sorted((rank for _title, rank in ranks), reverse=True)


def test_search_narrows_the_given_queryset(library: dict[str, Book]) -> None:
    library["messiah"].is_active = False
    library["messiah"].save()
    assert titles(book_search(Book.objects.filter(is_active=True), "dune herbert")) == ["Dune"]


def test_search_result_is_a_queryset_that_counts_and_reorders(library: dict[str, Book]) -> None:
    result = book_search(Book.objects.all(), "dune")
    assert result.count() == 4
    assert titles(result.order_by("title")) == ["Dune", "Dune Messiah", "Reading Deserts", "Sandworm Diaries"]


def test_api_search_is_best_first_unless_ordering_is_given(api_client: APIClient, library: dict[str, Book]) -> None:
    response = api_client.get("/api/v1/books", {"search": "dune"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert [book["title"] for book in body["results"]][2:] == ["Sandworm Diaries", "Reading Deserts"]

    response = api_client.get("/api/v1/books", {"search": "dune", "ordering": "title"})
    assert [book["title"] for book in response.json()["results"]] == [
        "Dune",
        "Dune Messiah",
        "Reading Deserts",
        "Sandworm Diaries",
    ]


def test_api_search_combines_with_filters(api_client: APIClient, library: dict[str, Book]) -> None:
    herbert = library["dune"].authors.get()
    response = api_client.get("/api/v1/books", {"search": "dune", "author": herbert.pk, "ordering": "-title"})
    assert [book["title"] for book in response.json()["results"]] == ["Dune Messiah", "Dune"]


def test_api_search_hides_inactive_books_from_customers(
    api_client: APIClient, staff_client: APIClient, library: dict[str, Book]
) -> None:
    library["dune"].is_active = False
    library["dune"].save()
    assert api_client.get("/api/v1/books", {"search": "0441013597"}).json()["count"] == 0
    assert staff_client.get("/api/v1/books", {"search": "0441013597"}).json()["count"] == 1
