"""The genre admin refuses to delete a genre that books are in, as the API's 409 does, and says why."""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.test import Client

from catalog.models import Book, Genre
from tests.factories import BookFactory, GenreFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/genre/"


def _refused(body: str, genre: Genre, book_count: int) -> bool:
    return f"Genre “{genre.name}” still has {book_count} book(s); take them off the genre first" in body


def test_the_delete_page_of_a_genre_with_books_refuses_and_says_why(admin_client: Client) -> None:
    genre = GenreFactory(name="Fantasy")
    book = BookFactory(genres=[genre])

    page = admin_client.get(f"{CHANGELIST}{genre.pk}/delete/")
    assert page.status_code == 200
    assert _refused(page.content.decode(), genre, 1)

    confirmed = admin_client.post(f"{CHANGELIST}{genre.pk}/delete/", {"post": "yes"})

    assert _refused(confirmed.content.decode(), genre, 1)
    assert Genre.objects.filter(pk=genre.pk).exists()
    assert list(Book.objects.get(pk=book.pk).genres.all()) == [genre]


def test_the_bulk_delete_action_refuses_when_any_selected_genre_has_books(admin_client: Client) -> None:
    empty, used = GenreFactory(name="Empty"), GenreFactory(name="Used")
    BookFactory(genres=[used])
    BookFactory(genres=[used])

    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [empty.pk, used.pk], "post": "yes"},
    )

    assert _refused(response.content.decode(), used, 2)
    assert set(Genre.objects.values_list("pk", flat=True)) == {empty.pk, used.pk}
    assert Book.genres.through.objects.filter(genre=used).count() == 2


def test_genres_without_books_are_deleted_one_or_several_at_a_time(admin_client: Client) -> None:
    one, two, three = GenreFactory(), GenreFactory(), GenreFactory()
    BookFactory()

    admin_client.post(f"{CHANGELIST}{one.pk}/delete/", {"post": "yes"})
    admin_client.post(
        CHANGELIST, {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [two.pk, three.pk], "post": "yes"}
    )

    assert not Genre.objects.exists()
