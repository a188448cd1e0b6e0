"""GET /api/v1/search/suggest: titles, authors and series by prefix, at most 10, popular first."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import Author, Book
from catalog.search.suggest import MAX_PREFIX_LENGTH, normalise_prefix, search_suggest
from tests.factories import AuthorFactory, BookFactory, SeriesFactory, WorkFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def _sales(model: Any, obj: Any, n: int) -> None:
    model.objects.filter(pk=obj.pk).update(recent_sales=n)


def _suggest(client: APIClient, q: str) -> list[tuple[str, str]]:
    response = client.get("/api/v1/search/suggest", {"q": q})
    assert response.status_code == 200, response.content
    return [(s["kind"], s["text"]) for s in response.json()["suggestions"]]


def test_titles_authors_and_series_by_prefix_most_popular_first(api_client: APIClient) -> None:
    harper = AuthorFactory(name="Harper Lee")
    BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")])
    potter = BookFactory(title="Harry Potter and the Philosopher's Stone", authors=[AuthorFactory(name="J. Rowling")])
    mockingbird = BookFactory(title="To Kill a Mockingbird", authors=[harper])
    BookFactory(title="Hard Times")
    SeriesFactory(name="Harry Potter")
    _sales(Book, potter, 50)
    _sales(Author, harper, 20)
    _sales(Book, mockingbird, 20)

    assert _suggest(api_client, "HAR") == [
        ("book", "Harry Potter and the Philosopher's Stone"),
        ("author", "Harper Lee"),
        ("book", "Hard Times"),
        ("series", "Harry Potter"),
    ]
    assert _suggest(api_client, "harry  p") == [
        ("book", "Harry Potter and the Philosopher's Stone"),
        ("series", "Harry Potter"),
    ]
    assert _suggest(api_client, "zzz") == []


def test_the_answer_has_the_contract_shape(api_client: APIClient) -> None:
    book = BookFactory(title="Dune")
    body = api_client.get("/api/v1/search/suggest", {"q": "du"}).json()
    assert body == {"suggestions": [{"kind": "book", "id": book.pk, "text": "Dune"}]}


def test_at_most_ten_and_popularity_beats_the_alphabet(api_client: APIClient) -> None:
    books = [BookFactory(title=f"Sand {i:02d}") for i in range(14)]
    _sales(Book, books[13], 3)
    _sales(Book, books[12], 7)
    got = _suggest(api_client, "sand")
    assert len(got) == 10
    assert got[:3] == [("book", "Sand 12"), ("book", "Sand 13"), ("book", "Sand 00")]


def test_many_sold_and_unsold_names_rank_exactly_like_a_full_sort() -> None:
    # More matches than any arm reads: the answer is still the top of the complete ordering.
    names = [f"Kestrel {i:03d}" for i in range(40)]
    for i, name in enumerate(names):
        book = BookFactory(title=name, authors=[AuthorFactory(name=f"{name} writer")])
        _sales(Book, book, (i * 7) % 5)
    expected = sorted(
        ((b.recent_sales, b.title) for b in Book.objects.filter(title__startswith="Kestrel")),
        key=lambda row: (-row[0], row[1].lower()),
    )
    assert [s.text for s in search_suggest(prefix="kestrel")] == [title for _, title in expected[:10]]


def test_editions_of_one_title_are_one_suggestion_and_inactive_books_none(api_client: APIClient) -> None:
    work = WorkFactory(title="Emma")
    BookFactory(title="Emma", work=work, format="paperback")
    hardcover = BookFactory(title="Emma", work=work, format="hardcover")
    BookFactory(title="Emmanuelle", is_active=False)
    _sales(Book, hardcover, 2)
    body = api_client.get("/api/v1/search/suggest", {"q": "emm"}).json()
    assert body["suggestions"] == [{"kind": "book", "id": hardcover.pk, "text": "Emma"}]


def test_prefix_characters_are_text_not_patterns(api_client: APIClient) -> None:
    BookFactory(title="100% Pure")
    BookFactory(title="100 Years")
    BookFactory(title="a_b")
    BookFactory(title="axb")
    assert _suggest(api_client, "100%") == [("book", "100% Pure")]
    assert _suggest(api_client, "a_") == [("book", "a_b")]
    assert _suggest(api_client, "%") == []


def test_q_is_required_not_blank_and_bounded(api_client: APIClient) -> None:
    for params in [{}, {"q": ""}, {"q": "   "}, {"q": "x" * (MAX_PREFIX_LENGTH + 1)}]:
        error = assert_envelope(api_client.get("/api/v1/search/suggest", params), 400, "validation_error")
        assert list(error["details"]) == ["q"]
    assert api_client.get("/api/v1/search/suggest", {"q": "x" * MAX_PREFIX_LENGTH}).status_code == 200


def test_normalised_prefix() -> None:
    assert normalise_prefix("  \uff28\uff41\uff52   Pot\x00 ") == "har pot"


def test_one_query_whatever_the_matches(api_client: APIClient) -> None:
    counts = []
    for n in (1, 12):
        for i in range(n):
            BookFactory(title=f"Quill {n} {i}", authors=[AuthorFactory(name=f"Quill writer {n} {i}")])
            SeriesFactory(name=f"Quill series {n} {i}")
        with CaptureQueriesContext(connection) as queries:
            assert _suggest(api_client, f"quill {n}") or _suggest(api_client, "quill")
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as queries:
        api_client.get("/api/v1/search/suggest", {"q": "quill"})
    assert len(queries) == 1


def test_the_query_reads_the_prefix_indexes() -> None:
    BookFactory(title="Harbour")
    with CaptureQueriesContext(connection) as queries:
        search_suggest(prefix="har")
    (sql,) = [query["sql"] for query in queries.captured_queries]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is otherwise read whole
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = "\n".join(str(row) for row in cursor.fetchall())
    for index in [
        "books_suggest_title_idx",
        "books_suggest_sold_idx",
        "authors_suggest_name_idx",
        "authors_suggest_sold_idx",
        "series_suggest_name_idx",
        "series_suggest_sold_idx",
    ]:
        assert index in plan, plan
