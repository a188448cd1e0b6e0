"""catalog.services for authors and genres."""

from __future__ import annotations

from typing import Any

import pytest

from catalog import services
from catalog.exceptions import AuthorHasBooks, GenreSlugTaken
from catalog.models import Author, Genre
from tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db


def test_delete_author_without_books() -> None:
    author = AuthorFactory()
    services.author_delete(author=author)
    assert not Author.objects.exists()


def test_delete_author_with_books_is_refused() -> None:
    author = AuthorFactory()
    BookFactory.create_batch(2, authors=[author])
    with pytest.raises(AuthorHasBooks) as caught:
        services.author_delete(author=author)
    assert caught.value.status_code == 409
    assert caught.value.code == "conflict"
    assert caught.value.details == {"book_count": 2}
    assert Author.objects.filter(pk=author.pk).exists()


def test_author_update_without_a_change_writes_nothing(django_assert_num_queries: Any) -> None:
    author = AuthorFactory(name="Same", bio="Same bio")
    with django_assert_num_queries(0):
        services.author_update(author=author, name="Same", bio="Same bio")


def test_author_bio_change_does_not_reindex(django_assert_num_queries: Any) -> None:
    author = AuthorFactory(name="Same")
    BookFactory(authors=[author])
    with django_assert_num_queries(3):  # savepoint, UPDATE, release
        services.author_update(author=author, bio="New bio")


def test_genre_slug_derivation_skips_taken_slugs() -> None:
    GenreFactory(name="Drama", slug="drama")
    GenreFactory(name="Drama 2", slug="drama-2")
    GenreFactory(name="Dramatic", slug="dramatic")
    assert services.genre_create(name="Drama").slug == "drama-3"


def test_genre_slug_derived_again_when_taken_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    GenreFactory(name="Taken", slug="horror")
    real = services._slug_from_name
    calls: list[str] = []

    def stale_then_real(name: str) -> str:
        calls.append(name)
        return "horror" if len(calls) == 1 else real(name)  # as if another genre took it after the check

    monkeypatch.setattr(services, "_slug_from_name", stale_then_real)
    assert services.genre_create(name="Horror").slug == "horror-2"
    assert len(calls) == 2


def test_genre_explicit_taken_slug_is_refused() -> None:
    GenreFactory(slug="horror")
    with pytest.raises(GenreSlugTaken):
        services.genre_create(name="Horror", slug="horror")
    assert Genre.objects.count() == 1
