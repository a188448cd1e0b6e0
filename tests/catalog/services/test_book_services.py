"""catalog.services for books: create, update, delete-or-deactivate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import ProtectedError

from catalog import services
from catalog.exceptions import BookAuthorsInvalid, IsbnInvalid, IsbnTaken
from catalog.models import Book, BookAuthor
from catalog.services import BookDeletion
from tests.factories import AuthorFactory, BookFactory, GenreFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_create_normalises_the_isbn_and_credits_authors_in_order() -> None:
    first, second = AuthorFactory(), AuthorFactory()
    genre = GenreFactory()
    book = services.book_create(
        isbn="0-441-01359-7", title="Dune", price=Decimal("9.99"), authors=[second, first], genres=[genre]
    )
    assert book.isbn == "9780441013593"
    assert list(BookAuthor.objects.filter(book=book).values_list("author_id", "position")) == [
        (second.pk, 0),
        (first.pk, 1),
    ]
    assert list(book.genres.all()) == [genre]


def test_create_refuses_an_invalid_isbn() -> None:
    with pytest.raises(IsbnInvalid) as caught:
        services.book_create(isbn="0-441-01359-8", title="X", price=Decimal(1), authors=[AuthorFactory()])
    assert caught.value.details == {"isbn": ["The ISBN-10 check digit is wrong."]}
    assert not Book.objects.exists()


def test_create_refuses_a_taken_isbn_in_another_spelling() -> None:
    BookFactory(isbn="9780441013593")
    with pytest.raises(IsbnTaken):
        services.book_create(isbn="0441013597", title="X", price=Decimal(1), authors=[AuthorFactory()])


@pytest.mark.parametrize("authors", [[], "twice"])
def test_create_needs_distinct_authors(authors: object) -> None:
    author = AuthorFactory()
    with pytest.raises(BookAuthorsInvalid):
        services.book_create(
            isbn="9780441013593", title="X", price=Decimal(1), authors=[author, author] if authors == "twice" else []
        )
    assert not Book.objects.exists()  # nothing half-written


def test_update_writes_only_the_given_fields() -> None:
    book = BookFactory(title="Old", stock=5)
    Book.objects.filter(pk=book.pk).update(stock=2)  # an order took stock meanwhile; `book` is stale
    services.book_update(book=book, title="New")
    book.refresh_from_db()
    assert (book.title, book.stock) == ("New", 2)


def test_update_keeps_authors_and_genres_unless_given() -> None:
    author, genre = AuthorFactory(), GenreFactory()
    book = BookFactory(authors=[author], genres=[genre])
    services.book_update(book=book, title="Renamed")
    assert list(book.authors.all()) == [author]
    assert list(book.genres.all()) == [genre]
    services.book_update(book=book, genres=[])
    assert list(book.genres.all()) == []


def test_update_to_a_taken_isbn_is_refused() -> None:
    BookFactory(isbn="9780441013593")
    book = BookFactory(isbn="9780306406157")
    with pytest.raises(IsbnTaken):
        services.book_update(book=book, isbn="978-0-441-01359-3")
    book.refresh_from_db()
    assert book.isbn == "9780306406157"


def test_delete_removes_a_book_never_ordered() -> None:
    book = BookFactory()
    book_id = book.pk
    assert services.book_delete(book=book) is BookDeletion.DELETED
    assert not Book.objects.filter(pk=book_id).exists()


def test_delete_deactivates_an_ordered_book() -> None:
    item = OrderItemFactory(book=BookFactory(is_active=True))
    book = item.book
    assert services.book_delete(book=book) is BookDeletion.DEACTIVATED
    assert book.is_active is False
    book.refresh_from_db()
    assert book.is_active is False
    assert BookAuthor.objects.filter(book=book).exists()  # nothing of the book was removed


def test_delete_turns_any_protected_reference_into_a_deactivation(monkeypatch: pytest.MonkeyPatch) -> None:
    book = BookFactory()

    def protected_delete(self: Book, *args: object, **kwargs: object) -> None:
        raise ProtectedError("referenced", set())

    monkeypatch.setattr(Book, "delete", protected_delete)
    assert services.book_delete(book=book) is BookDeletion.DEACTIVATED
    assert Book.objects.get(pk=book.pk).is_active is False
