"""The search index follows the catalog: book edits, author changes, renames, deletes, bulk refreshes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Book, BookAuthor, BookSearchEntry
from catalog.search import book_search, search_index_rebuild, search_index_update
from tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db


def found(query: str) -> list[str]:
    return [book.title for book in book_search(Book.objects.all(), query)]


def indexed_ids() -> set[int]:
    return set(BookSearchEntry.objects.values_list("book_id", flat=True))


def test_a_created_book_is_searchable_at_once(staff_client: APIClient) -> None:
    author = AuthorFactory(name="Octavia Butler")
    response = staff_client.post(
        "/api/v1/books",
        {"isbn": "0-446-67550-4", "title": "Parable of the Sower", "price": "9.00", "author_ids": [author.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert found("sower") == ["Parable of the Sower"]
    assert found("octavia") == ["Parable of the Sower"]


def test_a_changed_title_is_reindexed(staff_client: APIClient) -> None:
    book = BookFactory(title="Working Title", description="")
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"title": "Final Title"}, format="json")
    assert response.status_code == 200, response.content
    assert found("final") == ["Final Title"]
    assert found("working") == []


def test_changed_description_and_publisher_are_reindexed() -> None:
    book = BookFactory(title="Quiet Book", description="old words", publisher="Old House")
    services.book_update(book=book, description="fresh words", publisher="New House")
    assert found("fresh") == ["Quiet Book"]
    assert found("old") == []


def test_changed_authors_are_reindexed(staff_client: APIClient) -> None:
    before, after = AuthorFactory(name="Alice Before"), AuthorFactory(name="Bob After")
    book = BookFactory(title="Shared Work", authors=[before], description="")
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"author_ids": [after.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert found("bob") == ["Shared Work"]
    assert found("alice") == []


def test_a_renamed_author_is_reindexed_on_all_their_books(staff_client: APIClient) -> None:
    author = AuthorFactory(name="Richard Bachman")
    BookFactory(title="Thinner", authors=[author], description="")
    BookFactory(title="The Long Walk", authors=[author, AuthorFactory(name="Co Writer")], description="")
    response = staff_client.patch(f"/api/v1/authors/{author.pk}", {"name": "Stephen King"}, format="json")
    assert response.status_code == 200, response.content
    assert set(found("stephen king")) == {"Thinner", "The Long Walk"}
    assert found("bachman") == []


def test_a_stock_change_does_not_touch_the_index() -> None:
    book = BookFactory(stock=3)
    # The stock read under a lock, its ledger movement, its admin history and the UPDATE: no search statement.
    with CaptureQueriesContext(connection) as queries:
        services.book_update(book=book, stock=5)
    statements = [query["sql"].lower() for query in queries]
    assert any("update" in sql and "books" in sql for sql in statements)
    assert not [sql for sql in statements if "book_search" in sql or "search_word" in sql]


def test_a_deleted_book_leaves_the_index(staff_client: APIClient) -> None:
    book = BookFactory(title="Ephemera", description="")
    assert book.pk in indexed_ids()
    assert staff_client.delete(f"/api/v1/books/{book.pk}").status_code == 204
    assert book.pk not in indexed_ids()
    assert found("ephemera") == []


def test_update_in_bulk_is_a_fixed_number_of_queries() -> None:
    books = [BookFactory(title=f"Bulk volume {i}", search_index=False) for i in range(60)]
    few, many = [book.pk for book in books[:2]], [book.pk for book in books]
    assert found("bulk") == []

    with CaptureQueriesContext(connection) as small:
        search_index_update(book_ids=few)
    with CaptureQueriesContext(connection) as large:
        search_index_update(book_ids=many)
    # savepoint pair (2), entries (2), vocabulary text (1), new words (1; SQLite 2, with their trigrams)
    assert len(large.captured_queries) == len(small.captured_queries) <= 7
    assert len(found("bulk")) == 60


def test_many_books_get_the_same_entries_through_create_table_as(monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.search import index

    def entries() -> dict[int, str]:
        text = "document::text" if connection.vendor == "postgresql" else "title || authors || body"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT book_id, {text} FROM book_search")
            return dict(cursor.fetchall())

    books = [BookFactory(title=f"Bulk volume {i}", description="Rivers and gardens") for i in range(6)]
    ids = [book.pk for book in books]
    BookSearchEntry.objects.filter(book_id=ids[0]).delete()  # one entry to create, five to replace
    expected = entries()
    monkeypatch.setattr(index, "PARALLEL_DOCUMENTS_FROM", 5)

    with CaptureQueriesContext(connection) as captured:
        search_index_update(book_ids=ids)

    written = entries()
    assert set(written) == set(ids)
    assert {book_id: written[book_id] for book_id in expected} == expected
    staged = any("CREATE TEMP TABLE search_documents_stage" in query["sql"] for query in captured.captured_queries)
    assert staged is (connection.vendor == "postgresql")
    assert sorted(found("gardens")) == sorted(book.title for book in books)


@pytest.mark.parametrize("parallel_from", [5_000, 1], ids=["insert", "create-table-as"])
def test_update_drops_entries_of_books_that_no_longer_exist(
    monkeypatch: pytest.MonkeyPatch, parallel_from: int
) -> None:
    from catalog.search import index

    monkeypatch.setattr(index, "PARALLEL_DOCUMENTS_FROM", parallel_from)
    kept, book = BookFactory(title="Kept Here"), BookFactory(title="Gone Soon")
    book_id = book.pk
    BookAuthor.objects.filter(book=book).delete()
    Book.objects.filter(pk=book_id).delete()  # behind the services' back
    assert book_id in indexed_ids()
    search_index_update(book_ids=[kept.pk, book_id])
    assert book_id not in indexed_ids()
    assert kept.pk in indexed_ids()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's FTS rows are replaced by DELETE, then INSERT")
@pytest.mark.parametrize("parallel_from", [5_000, 1], ids=["insert", "create-table-as"])
def test_update_of_books_that_all_exist_deletes_no_entry(monkeypatch: pytest.MonkeyPatch, parallel_from: int) -> None:
    """The documents statement counts the books it found; only a shortfall costs the DELETE of missing ones."""
    from catalog.search import index

    monkeypatch.setattr(index, "PARALLEL_DOCUMENTS_FROM", parallel_from)
    ids = [BookFactory(title=f"Present volume {i}").pk for i in range(3)]
    with CaptureQueriesContext(connection) as captured:
        search_index_update(book_ids=ids)
    assert not [query for query in captured.captured_queries if query["sql"].startswith("DELETE")]
    assert indexed_ids() >= set(ids)


def test_the_vocabulary_takes_the_words_of_titles_subtitles_publishers_contributors_series_and_genres() -> None:
    from catalog.models import SearchWord, Series

    BookFactory(
        title="Quarrelsome",
        subtitle="Marmalade",
        publisher="Wintergreen Press",
        description="Untouchable blurb",
        series=Series.objects.create(name="Thistledown"),
        authors=[AuthorFactory(name="Ottoline Brisk")],
        genres=[GenreFactory(name="Hedgerow Mysteries", slug="hedgerow-mysteries")],
    )
    words = set(SearchWord.objects.values_list("word", flat=True))
    assert {"quarrelsome", "marmalade", "wintergreen", "thistledown", "ottoline", "brisk", "hedgerow"} <= words
    assert "untouchable" not in words  # descriptions are left out


def test_update_with_no_ids_does_nothing(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        search_index_update(book_ids=[])


def test_rebuild_indexes_every_book_and_counts_them() -> None:
    BookFactory(title="Unindexed One", search_index=False)
    BookFactory(title="Unindexed Two", search_index=False)
    BookFactory(title="Indexed Three")
    assert found("unindexed") == []
    assert search_index_rebuild() == 3
    assert set(found("unindexed")) == {"Unindexed One", "Unindexed Two"}
    assert len(indexed_ids()) == 3


def test_rebuild_command_reports_the_count() -> None:
    BookFactory(title="Lonely", search_index=False)
    out = StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "Indexed 1 book." in out.getvalue()
    assert found("lonely") == ["Lonely"]


@pytest.mark.parametrize("parallel_from", [5_000, 1], ids=["insert", "create-table-as"])
def test_update_reindexes_exactly_the_given_ids_consecutive_or_not(
    monkeypatch: pytest.MonkeyPatch, parallel_from: int
) -> None:
    """Consecutive ids are matched as a range on PostgreSQL, others as an array: both reindex those ids only."""
    from catalog.search import index

    monkeypatch.setattr(index, "PARALLEL_DOCUMENTS_FROM", parallel_from)
    first, middle, last = (BookFactory(title=f"Old volume {n}") for n in range(3))
    Book.objects.filter(pk__in=[first.pk, middle.pk, last.pk]).update(title="Zanzibar harbour")  # behind the services

    with CaptureQueriesContext(connection) as gapped:
        search_index_update(book_ids=[first.pk, last.pk])
    assert sorted(found("zanzibar")) == ["Zanzibar harbour"] * 2
    assert {book.pk for book in book_search(Book.objects.all(), "zanzibar")} == {first.pk, last.pk}

    with CaptureQueriesContext(connection) as consecutive:
        search_index_update(book_ids=[last.pk, middle.pk, first.pk])
    assert {book.pk for book in book_search(Book.objects.all(), "zanzibar")} == {first.pk, middle.pk, last.pk}

    if connection.vendor == "postgresql":
        assert any("= ANY(" in query["sql"] for query in gapped.captured_queries)
        documents = [query["sql"] for query in consecutive.captured_queries if "to_tsvector" in query["sql"]]
        assert documents
        assert all("BETWEEN" in sql and "= ANY(" not in sql for sql in documents)
