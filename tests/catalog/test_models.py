"""Rules the database itself holds for the catalog tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import Author, Book, BookAuthor, Genre
from tests.factories import AuthorFactory, BookFactory, GenreFactory, WorkFactory

pytestmark = pytest.mark.django_db


def book(**fields: object) -> Book:
    values: dict[str, object] = {"isbn": "9780441013593", "title": "Dune", "price": Decimal("1.00")}
    values.update(fields)
    return Book(**values, work=WorkFactory())


@pytest.mark.parametrize(
    "fields",
    [
        {"price": Decimal("-0.01")},
        {"stock": -1},
        {"isbn": "978044101359"},  # 12 characters
        {"language": "xx"},
        {"title": ""},
    ],
)
def test_book_check_constraints(fields: dict[str, object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        book(**fields).save()


def test_isbn_is_unique() -> None:
    BookFactory(isbn="9780441013593")
    with pytest.raises(IntegrityError), transaction.atomic():
        book().save()


def test_genre_slug_is_unique_and_not_blank() -> None:
    GenreFactory(slug="poetry")
    with pytest.raises(IntegrityError), transaction.atomic():
        Genre.objects.create(name="Poetry", slug="poetry")
    with pytest.raises(IntegrityError), transaction.atomic():
        Genre.objects.create(name="Poetry", slug="")


def test_author_name_is_not_blank() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Author.objects.create(name="")


def test_an_author_is_credited_once_per_book() -> None:
    author = AuthorFactory()
    credited = BookFactory(authors=[author])
    with pytest.raises(IntegrityError), transaction.atomic():
        BookAuthor.objects.create(book=credited, author=author, position=1)


def test_readable_names() -> None:
    author = AuthorFactory(name="Frank Herbert")
    credited = BookFactory(title="Dune", authors=[author])
    assert str(author) == "Frank Herbert"
    assert str(credited) == "Dune"
    assert str(GenreFactory(name="Poetry")) == "Poetry"
    assert str(BookAuthor.objects.get(book=credited)) == "Frank Herbert on Dune"
