"""catalog.bulk.books_upsert: the set-based write behind import_books."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog import services
from catalog.bulk import authors_get_or_create, books_upsert, genres_get_or_create
from catalog.exceptions import BookAuthorsInvalid, IsbnInvalid, IsbnTaken
from catalog.importing import OPTIONAL_COLUMNS, BookRow
from catalog.models import Author, Book, Genre
from tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db


def row(isbn: str, **values) -> BookRow:
    base = {"line": 2, "isbn": isbn, "title": "T", "authors": ("A",), "price": Decimal("1.00"), "present": frozenset()}
    return BookRow(**{**base, **values})


def test_rows_carrying_different_columns_in_one_batch():
    kept = BookFactory(isbn="9780441013593", stock=7, publisher="Ace", language="fr")
    set_all = BookFactory(isbn="9780306406157", stock=7, publisher="Ace", language="fr")

    result = books_upsert(
        rows=[
            row("9780441013593", title="Kept"),
            row("9780306406157", title="All set", present=OPTIONAL_COLUMNS, stock=0, publisher="", language="en"),
            row("9782070408504", title="New", present=frozenset({"stock"}), stock=3),
        ]
    )

    assert (result.created, result.updated) == (1, 2)
    kept.refresh_from_db()
    set_all.refresh_from_db()
    new = Book.objects.get(isbn="9782070408504")
    assert (kept.title, kept.stock, kept.publisher, kept.language) == ("Kept", 7, "Ace", "fr")
    assert (set_all.title, set_all.stock, set_all.publisher, set_all.language) == ("All set", 0, "", "en")
    assert (new.title, new.stock, new.language, new.is_active, new.page_count) == ("New", 3, "en", True, None)
    assert sorted(result.book_ids) == sorted([kept.pk, set_all.pk, new.pk])


def test_update_keeps_created_at_and_moves_updated_at():
    book = BookFactory(isbn="9780441013593")
    created_at, updated_at = book.created_at, book.updated_at

    books_upsert(rows=[row("9780441013593", title="Renamed")])

    book.refresh_from_db()
    assert book.created_at == created_at
    assert book.updated_at > updated_at


def test_more_rows_than_one_statement_holds():
    from tests.factories import _isbn13

    rows = [row(_isbn13(7000 + n), authors=(f"Author {n % 3}", "Shared")) for n in range(1203)]

    result = books_upsert(rows=rows)

    assert result.created == 1203
    assert Book.objects.count() == 1203
    assert Author.objects.count() == 4
    assert Book.objects.filter(author_links__author__name="Shared").count() == 1203


def test_authors_by_exact_name_oldest_first():
    oldest, _newer = AuthorFactory(name="Same Name"), AuthorFactory(name="Same Name")

    ids = authors_get_or_create(names=["Same Name", "Brand New", "Brand New"])

    assert ids["Same Name"] == oldest.pk
    assert Author.objects.filter(name="Brand New").count() == 1


def test_genres_by_slug_named_after_it():
    existing = GenreFactory(slug="fiction", name="Fiction & more")

    ids = genres_get_or_create(slugs=["fiction", "science-fiction", "young_adult"])

    assert ids["fiction"] == existing.pk
    assert Genre.objects.get(slug="science-fiction").name == "Science fiction"
    assert Genre.objects.get(slug="young_adult").name == "Young adult"


# --- The bulk path keeps the services' rules -------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([row("0441013597")], IsbnInvalid),  # an ISBN-10: rows carry the 13-digit form
        ([row("9780441013593", authors=())], BookAuthorsInvalid),
        ([row("9780441013593", authors=("A", "A"))], BookAuthorsInvalid),
        ([row("9780441013593"), row("9780441013593", title="Again")], IsbnTaken),
    ],
)
def test_rows_breaking_a_book_rule_are_refused_and_nothing_is_written(rows, error):
    with pytest.raises(error):
        books_upsert(rows=rows)
    assert not Book.objects.exists()
    assert not Author.objects.exists()


def test_single_and_bulk_writes_go_through_the_same_after_write_step(monkeypatch):
    calls: list[tuple[list[int], bool]] = []
    monkeypatch.setattr(services, "books_written", lambda *, book_ids, reindex: calls.append((list(book_ids), reindex)))
    author = AuthorFactory()

    single = services.book_create(isbn="9780306406157", title="One", price=Decimal("1.00"), authors=[author])
    services.book_update(book=single, stock=4)
    bulk = books_upsert(rows=[row("9780441013593")])

    assert calls == [([single.pk], True), ([single.pk], False), (bulk.book_ids, True)]
