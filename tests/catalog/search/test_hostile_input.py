"""Hostile search input never breaks the search: no 5xx, no SQL or FTS syntax reaches the database."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import Book, SearchSynonym
from catalog.search import book_search, book_search_tolerant
from catalog.search.suggest import MAX_PREFIX_LENGTH, normalise_prefix
from tests.factories import AuthorFactory, BookFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    '"',
    '""',
    '"dune',
    'dune"',
    "'",
    "'dune'",
    "'; DROP TABLE books; --",
    '"; DROP TABLE books; --',
    "1' OR '1'='1",
    "*",
    "dune*",
    "^dune",
    "NEAR(",
    "NEAR(dune herbert, 2)",
    "dune NEAR herbert",
    "AND OR NOT",
    "dune AND",
    "OR dune",
    "NOT",
    "-",
    "--",
    "- -",
    "-dune -",
    "(",
    ")",
    "(dune",
    "{title}: dune",
    "title:dune",
    "dune:*",
    "dune & herbert | !spice <-> x",
    "!!dune",
    "\\",
    "%",
    "_",
    "\x00",
    "du\x00ne",
    "😀",
    "dune 😀🔥",
    "\u202edune",
    "\uff44\uff55\uff4e\uff45",
    "a" * 10_240,
    "dune " * 2_048,
    '"' * 10_240,
    "-" * 10_240,
    "(" * 10_240,
    "é" * 5_000,
]


@pytest.fixture
def books() -> None:
    BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")], description="Spice.")
    BookFactory(title="Sand", authors=[AuthorFactory(name="Hugh Howey")], description="")


@pytest.mark.parametrize("query", HOSTILE)
def test_book_search_accepts_any_text(books: None, query: str) -> None:
    list(book_search(Book.objects.all(), query))
    assert book_search(Book.objects.all(), query).count() >= 0


@pytest.mark.parametrize("query", HOSTILE)
def test_api_never_answers_5xx(api_client: APIClient, books: None, query: str) -> None:
    response = api_client.get("/api/v1/books", {"search": query})
    assert response.status_code == 200, response.content
    assert Book.objects.count() == 2  # and nothing was dropped


def test_operators_are_plain_words(books: None) -> None:
    # Quotes, stars and FTS operators around words are separators, never syntax.
    assert [book.title for book in book_search(Book.objects.all(), 'NEAR("dune*"')] == []
    assert [book.title for book in book_search(Book.objects.all(), '"dune*')] == ["Dune"]
    assert [book.title for book in book_search(Book.objects.all(), "(herbert) OR zzqx")] == []


@pytest.mark.parametrize("query", HOSTILE)
def test_typo_tolerance_synonyms_and_prefixes_accept_any_text(books: None, query: str) -> None:
    # Hostile text on every path: as a synonym's side, as a query to correct, as a prefix, with the in-stock boost.
    # (The admin's form refuses NUL characters, as every Django form field does.)
    side = query.replace("\x00", "")[:200] or "x"
    SearchSynonym.objects.create(term=side, synonym="dune", both_ways=True)
    SearchSynonym.objects.create(term="sand", synonym=side[:190] + " y", both_ways=True)
    for text in (query, query + "x", "Duned " + query, "sand", "Herbret " + query):
        results = book_search_tolerant(Book.objects.all(), text, prefer_in_stock=True)
        list(results.queryset)
        list(results.page(0, 20))
        assert results.queryset.count() >= 0
    assert Book.objects.count() == 2


@pytest.mark.parametrize("query", HOSTILE[::4])
def test_api_with_synonyms_and_in_stock_boost_never_answers_5xx(api_client: APIClient, books: None, query: str) -> None:
    SearchSynonym.objects.create(term=query.replace("\x00", "")[:200] or "x", synonym="dune", both_ways=True)
    for params in ({"search": query, "prefer_in_stock": "true"}, {"search": query + " herbrt", "ordering": "-price"}):
        response = api_client.get("/api/v1/books", params)
        assert response.status_code == 200, response.content


# --- Facets, suggestions and highlights take the same hostile text -------------------------------


@pytest.mark.parametrize("query", HOSTILE)
def test_facets_never_answer_5xx(api_client: APIClient, books: None, query: str) -> None:
    response = api_client.get("/api/v1/books/facets", {"search": query})
    assert response.status_code == 200, response.content
    listed = api_client.get("/api/v1/books", {"search": query}).json()["count"]
    assert response.json()["count"] == listed
    assert Book.objects.count() == 2


@pytest.mark.parametrize("query", HOSTILE)
def test_suggest_never_answers_5xx(api_client: APIClient, books: None, query: str) -> None:
    response = api_client.get("/api/v1/search/suggest", {"q": query})
    # Blank, holding NUL, or over the length cap: a 400 naming q; anything else is text to match.
    if response.status_code == 400:
        assert response.json()["error"]["details"].keys() == {"q"}
        assert not query.strip() or "\x00" in query or len(query) > MAX_PREFIX_LENGTH
    else:
        assert response.status_code == 200, response.content
        for suggestion in response.json()["suggestions"]:
            assert normalise_prefix(suggestion["text"]).startswith(normalise_prefix(query))
    assert Book.objects.count() == 2


def test_suggest_takes_wildcards_and_quotes_as_text(api_client: APIClient, books: None) -> None:
    for query in ["%", "_", "d%", "d_ne", "'; DROP TABLE books; --", "*", "\\"]:
        assert api_client.get("/api/v1/search/suggest", {"q": query}).json() == {"suggestions": []}
    assert [s["text"] for s in api_client.get("/api/v1/search/suggest", {"q": "DUNE"}).json()["suggestions"]] == [
        "Dune"
    ]


@pytest.mark.parametrize("query", HOSTILE)
def test_highlights_never_answer_5xx_and_stay_escaped(api_client: APIClient, query: str) -> None:
    BookFactory(title='Dune <script>alert("x")</script>', description="<b>Spice</b> & dune " * 30)
    response = api_client.get("/api/v1/books", {"search": query, "highlight": "true"})
    assert response.status_code == 200, response.content
    for book in response.json()["results"]:
        for text in book["highlight"].values():
            assert "<script" not in text
            assert "<b>" not in text
            assert text.replace("<mark>", "").replace("</mark>", "").count("<") == 0


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/v1/books", {"highlight": "maybe"}, "highlight"),
        ("/api/v1/books", {"highlight": "\x00"}, "highlight"),
        ("/api/v1/books/facets", {"genre": "'; DROP TABLE books; --"}, "genre"),
        ("/api/v1/books/facets", {"author": "1 OR 1=1"}, "author"),
        ("/api/v1/books/facets", {"author": "99999999999999999999999"}, "author"),
        ("/api/v1/books/facets", {"language": "en'--"}, "language"),
        ("/api/v1/books/facets", {"format": "%"}, "format"),
        ("/api/v1/books/facets", {"publication_status": "*"}, "publication_status"),
        ("/api/v1/books/facets", {"min_price": "1e400"}, "min_price"),
        ("/api/v1/books/facets", {"max_price": "NaN"}, "max_price"),
        ("/api/v1/books/facets", {"genre": ",".join(f"g{i}" for i in range(101))}, "genre"),
        ("/api/v1/search/suggest", {"q": "x" * 10_240}, "q"),
        ("/api/v1/search/suggest", {}, "q"),
    ],
)
def test_bad_values_of_the_new_parameters_are_400_naming_them(
    api_client: APIClient, books: None, path: str, params: dict[str, str], name: str
) -> None:
    response = api_client.get(path, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert name in body["error"]["details"]
    assert Book.objects.count() == 2
