"""A quoted phrase keeps every word in its place, stop words included, on SQLite and PostgreSQL.

``"A Bridge for"`` must not shrink to the single word ``bridge``: it finds the
books that hold those three words in that order, and books with the phrase in
their title come first.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import Book
from catalog.search import book_search
from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bridges() -> None:
    author = AuthorFactory(name="Jane Roe")
    for title, description in [
        ("A Bridge for Angela", "A story."),
        ("A Bridge for the Winter", "A story."),
        ("The Bridge", "A story about a bridge."),
        ("Bridge for Sale", "Cheap."),
        ("Bridges of Madison County", "Four days."),
        ("River Towns", "They built a bridge for the village, then a school."),
        ("Bridge over the River", "A war story."),
        ("A Bridge Too Far", "Arnhem."),
        ("Bridge Stories", "How to build a bridge for a river."),
    ]:
        BookFactory(title=title, authors=[author], description=description)


def search(query: str) -> list[str]:
    return [book.title for book in book_search(Book.objects.all(), query)]


def test_a_phrase_with_stop_words_at_its_ends_keeps_them(bridges: None) -> None:
    ranked = search('"A Bridge for"')
    # Not just "bridge": "The Bridge", "Bridge for Sale" and "A Bridge Too Far" lack the phrase.
    assert set(ranked) == {"A Bridge for Angela", "A Bridge for the Winter", "River Towns", "Bridge Stories"}
    # The exact phrase in the title ranks first; the phrase in the description after,
    # even below a title that holds some of its words ("Bridge Stories").
    assert set(ranked[:2]) == {"A Bridge for Angela", "A Bridge for the Winter"}
    assert set(ranked[2:]) == {"River Towns", "Bridge Stories"}


def test_a_stop_word_inside_a_phrase_must_be_that_word(bridges: None) -> None:
    # PostgreSQL's english configuration turned this into 'bridg' <3> 'river',
    # which "Bridge over the River" matched; SQLite's FTS5 never did.
    assert search('"bridge for the river"') == []
    assert search('"bridge over the river"') == ["Bridge over the River"]


def test_a_phrase_still_stems_and_ignores_case_and_accents(bridges: None) -> None:
    assert search('"bridges of madison"') == ["Bridges of Madison County"]
    assert search('"BRIDGE of Madíson"') == ["Bridges of Madison County"]
    assert search('"built a bridges for"') == ["River Towns"]


def test_a_lone_stop_word_is_still_dropped(bridges: None) -> None:
    assert set(search("a bridge for")) == set(search("bridge"))
    assert len(search("bridge")) == 9


def test_an_excluded_phrase_keeps_its_stop_words(bridges: None) -> None:
    assert set(search('bridge -"a bridge for"')) == {
        "The Bridge",
        "Bridge for Sale",
        "Bridges of Madison County",
        "Bridge over the River",
        "A Bridge Too Far",
    }


def test_api_ranks_the_exact_title_phrase_first(api_client: APIClient, bridges: None) -> None:
    response = api_client.get("/api/v1/books", {"search": '"A Bridge for"'})
    assert response.status_code == 200
    titles = [book["title"] for book in response.json()["results"]]
    assert titles[:2] == ["A Bridge for Angela", "A Bridge for the Winter"]
    assert set(titles[2:]) == {"River Towns", "Bridge Stories"}


def test_the_phrase_in_the_title_ranks_first_beside_other_words() -> None:
    author = AuthorFactory(name="Jane Roe")
    # Both titles hold a query term; only one holds the phrase. The other's
    # description repeats everything, which would win on relevance alone.
    BookFactory(title="Winter Tales", authors=[author], description="A bridge for the winter, " * 10)
    BookFactory(title="A Bridge for the Winter", authors=[author], description="Snow.")
    assert search('winter "a bridge for"') == ["A Bridge for the Winter", "Winter Tales"]
    assert search('"a bridge for" winter') == ["A Bridge for the Winter", "Winter Tales"]
