"""The last word matches as a prefix; genre, series and every contributor are searched, and kept fresh."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Book
from catalog.search import book_search
from tests.factories import AuthorFactory, BookFactory, GenreFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def found(query: str) -> list[str]:
    return [book.title for book in book_search(Book.objects.all(), query)]


def api_titles(client: APIClient, query: str) -> list[str]:
    response = client.get("/api/v1/books", {"search": query})
    assert response.status_code == 200, response.content
    return [book["title"] for book in response.json()["results"]]


@pytest.fixture
def books() -> dict[str, Book]:
    return {
        "dune": BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")], description="Sand."),
        "harry": BookFactory(
            title="Harry Potter and the Philosopher's Stone",
            authors=[AuthorFactory(name="J. K. Rowling")],
            description="A boy wizard.",
        ),
        "dunwich": BookFactory(
            title="The Dunwich Horror", authors=[AuthorFactory(name="H. P. Lovecraft")], description="."
        ),
    }


def test_the_last_word_matches_as_a_prefix(books: dict[str, Book], api_client: APIClient) -> None:
    assert found("dun") == ["Dune", "The Dunwich Horror"]
    assert found("harry pot") == ["Harry Potter and the Philosopher's Stone"]
    assert found("philosoph") == ["Harry Potter and the Philosopher's Stone"]
    assert api_titles(api_client, "dun") == ["Dune", "The Dunwich Horror"]


def test_only_the_last_word_is_a_prefix(books: dict[str, Book]) -> None:
    assert found("pot harry") == []
    assert found("harry potter") == ["Harry Potter and the Philosopher's Stone"]


def test_a_finished_word_is_not_a_prefix(books: dict[str, Book], api_client: APIClient) -> None:
    assert found("dun ") == []
    assert found('"dun"') == []
    assert "Dune" in found("-dun")  # an excluded word is a whole word
    assert api_titles(api_client, "dune ") == ["Dune"]


def test_the_whole_word_ranks_above_a_longer_word_it_begins(books: dict[str, Book]) -> None:
    BookFactory(title="Dunes of the South", authors=[AuthorFactory(name="Ann Roe")], description=".")
    # "dune" is also "dunes" by stemming; "dunwich" only by prefix: all are title matches, found at once.
    assert set(found("dun")) == {"Dune", "Dunes of the South", "The Dunwich Horror"}


def test_a_one_letter_prefix_is_a_plain_word(books: dict[str, Book]) -> None:
    assert found("harry p") == []  # "p" alone is too short to stand for every word beginning with p


def test_genre_and_series_names_are_searched() -> None:
    fantasy = GenreFactory(name="Fantasy")
    series = SeriesFactory(name="Discworld")
    book = BookFactory(title="Mort", genres=[fantasy], description="Death takes an apprentice.")
    services.book_update(book=book, series=series)
    BookFactory(title="Other", description=".")
    assert found("fantasy") == ["Mort"]
    assert found("discworld") == ["Mort"]


def test_every_contributor_role_is_searched() -> None:
    translator = AuthorFactory(name="Gregory Rabassa")
    author = AuthorFactory(name="Julio Cortazar")
    BookFactory(title="Hopscotch", contributors=[(author, "author"), (translator, "translator")], description=".")
    assert found("rabassa") == ["Hopscotch"]


def test_renaming_a_genre_or_series_reindexes_their_books() -> None:
    genre = GenreFactory(name="Fantasy")
    series = SeriesFactory(name="Discworld")
    book = BookFactory(title="Mort", genres=[genre], description=".")
    services.book_update(book=book, series=series)
    services.genre_update(genre=genre, name="Sword and sorcery")
    services.series_update(series=series, name="Ankh Chronicles")
    assert found("fantasy") == []
    assert found("sorcery") == ["Mort"]
    assert found("discworld") == []
    assert found("ankh") == ["Mort"]


def test_changing_a_books_genres_or_series_reindexes_it(staff_client: APIClient) -> None:
    genre = GenreFactory(name="Horror", slug="horror")
    series = SeriesFactory(name="Cthulhu Mythos")
    book = BookFactory(title="Dagon", description=".")
    response = staff_client.patch(
        f"/api/v1/books/{book.pk}", {"genre_ids": [genre.pk], "series_id": series.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert found("horror") == ["Dagon"]
    assert found("mythos") == ["Dagon"]
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"genre_ids": []}, format="json")
    assert response.status_code == 200, response.content
    assert found("horror") == []


def test_recent_sales_break_ties(api_client: APIClient) -> None:
    # Same title words, same field, same length (and the same author, who is indexed too): equal relevance;
    # the better seller comes first.
    author = AuthorFactory(name="Ann Author")
    quiet = BookFactory(title="Night Watch", description="Same.", authors=[author])
    popular = BookFactory(title="Night Watch", description="Same.", authors=[author])
    Book.objects.filter(pk=popular.pk).update(recent_sales=40)
    Book.objects.filter(pk=quiet.pk).update(recent_sales=2)
    ids = [book["id"] for book in api_client.get("/api/v1/books", {"search": "night watch"}).json()["results"]]
    assert ids == [popular.pk, quiet.pk]
    Book.objects.filter(pk=quiet.pk).update(recent_sales=90)
    ids = [book["id"] for book in api_client.get("/api/v1/books", {"search": "night watch"}).json()["results"]]
    assert ids == [quiet.pk, popular.pk]


def test_prefer_in_stock_boosts_books_in_stock_within_a_tier(api_client: APIClient) -> None:
    author = AuthorFactory(name="Ann Author")  # one author for both: a random name's length would change the rank
    sold_out = BookFactory(title="Night Watch", description="Same.", stock=0, authors=[author])
    in_stock = BookFactory(title="Night Watch", description="Same.", stock=3, authors=[author])
    Book.objects.filter(pk=sold_out.pk).update(recent_sales=100)
    author_match = BookFactory(title="Other", authors=[AuthorFactory(name="Watch Night")], description=".", stock=5)

    def ids(**params: Any) -> list[int]:
        response = api_client.get("/api/v1/books", {"search": "night watch", **params})
        assert response.status_code == 200, response.content
        return [book["id"] for book in response.json()["results"]]

    assert ids() == [sold_out.pk, in_stock.pk, author_match.pk]
    assert ids(prefer_in_stock="true") == [in_stock.pk, sold_out.pk, author_match.pk]  # a title match still wins
    assert ids(prefer_in_stock="false") == [sold_out.pk, in_stock.pk, author_match.pk]


def test_prefer_in_stock_without_search_lists_books_in_stock_first(api_client: APIClient) -> None:
    BookFactory(title="Alpha", stock=0)
    BookFactory(title="Beta", stock=2)
    body = api_client.get("/api/v1/books", {"prefer_in_stock": "true"}).json()
    assert [book["title"] for book in body["results"]] == ["Beta", "Alpha"]
    assert api_client.get("/api/v1/books", {"prefer_in_stock": "maybe"}).status_code == 400


def test_hiding_and_showing_books_is_seen_by_search_at_once(api_client: APIClient, staff_client: APIClient) -> None:
    # PostgreSQL keeps is_active in the search table (it counts there): every path that hides a book updates it.
    first = BookFactory(title="Hidden Valley", description=".")
    second = BookFactory(title="Hidden Figures", description=".")
    services.books_set_active(books=Book.objects.filter(pk=first.pk), is_active=False)
    services.book_update(book=second, is_active=False)
    body = api_client.get("/api/v1/books", {"search": "hidden"}).json()
    assert body["count"] == 0
    assert body["results"] == []
    assert staff_client.get("/api/v1/books", {"search": "hidden"}).json()["count"] == 2
    services.books_set_active(books=Book.objects.filter(pk__in=[first.pk, second.pk]), is_active=True)
    assert api_titles(api_client, "hidden") == ["Hidden Figures", "Hidden Valley"]
