"""The catalog admin: the same search and the same services as the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalog.models import Author, Book, BookAuthor, Genre
from catalog.search import book_search
from tests.factories import AuthorFactory, BookFactory, GenreFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def found(query: str) -> list[str]:
    return [book.title for book in book_search(Book.objects.all(), query)]


def book_form(author: Author, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "isbn": "0-441-01359-7",
        "title": "Dune",
        "subtitle": "",
        "description": "",
        "publisher": "Ace",
        "published_date": "",
        "language": "en",
        "page_count": "",
        "price": "9.99",
        "stock": "3",
        "is_active": "on",
        "format": "paperback",
        "publication_status": "active",
        "preorder_allowance": "0",
        "genres": [],
        "author_links-TOTAL_FORMS": "1",
        "author_links-INITIAL_FORMS": "0",
        "author_links-MIN_NUM_FORMS": "1",
        "author_links-MAX_NUM_FORMS": "1000",
        "author_links-0-author": str(author.pk),
        "author_links-0-position": "0",
        "author_links-0-role": "author",
    }
    data.update(fields)
    return data


def test_changelist_search_is_the_catalog_search_best_first(admin_client: Client) -> None:
    BookFactory(title="Reading Deserts", description="All about dune.")
    BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")], description="")
    response = admin_client.get("/admin/catalog/book/", {"q": "dune"})
    assert response.status_code == 200
    assert [book.title for book in response.context["cl"].result_list] == ["Dune", "Reading Deserts"]
    response = admin_client.get("/admin/catalog/book/", {"q": "0-441-01359-7"})
    assert response.status_code == 200


def test_changelist_with_genre_filter_and_search(admin_client: Client) -> None:
    genre = GenreFactory(slug="sf")
    BookFactory(title="Dune", genres=[genre], description="")
    BookFactory(title="Dune Messiah", description="")
    response = admin_client.get("/admin/catalog/book/", {"q": "dune", "genre": "sf"})
    assert [book.title for book in response.context["cl"].result_list] == ["Dune"]


def test_adding_a_book_goes_through_the_service(admin_client: Client) -> None:
    author = AuthorFactory(name="Frank Herbert")
    response = admin_client.post("/admin/catalog/book/add/", book_form(author))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    book = Book.objects.get()
    assert book.isbn == "9780441013593"
    assert list(BookAuthor.objects.filter(book=book).values_list("author_id", flat=True)) == [author.pk]
    assert found("herbert") == ["Dune"]


def test_a_book_needs_an_author_in_the_admin(admin_client: Client) -> None:
    author = AuthorFactory()
    data = book_form(author, **{"author_links-TOTAL_FORMS": "0"})
    response = admin_client.post("/admin/catalog/book/add/", data)
    assert response.status_code == 200
    assert not Book.objects.exists()


def test_an_invalid_or_taken_isbn_is_a_form_error(admin_client: Client) -> None:
    author = AuthorFactory()
    response = admin_client.post("/admin/catalog/book/add/", book_form(author, isbn="0-441-01359-8"))
    assert "isbn" in response.context["adminform"].form.errors
    BookFactory(isbn="9780441013593")
    response = admin_client.post("/admin/catalog/book/add/", book_form(author))
    assert "isbn" in response.context["adminform"].form.errors


def test_changing_a_books_authors_reindexes_it(admin_client: Client) -> None:
    old, new = AuthorFactory(name="Alice Old"), AuthorFactory(name="Bob New")
    book = BookFactory(title="Shared", authors=[old], description="", stock=7)
    link = BookAuthor.objects.get(book=book)
    data = book_form(
        new,
        isbn=book.isbn,
        title="Shared",
        stock="7",
        **{
            "author_links-TOTAL_FORMS": "2",
            "author_links-INITIAL_FORMS": "1",
            "author_links-0-id": str(link.pk),
            "author_links-0-book": str(book.pk),
            "author_links-0-author": str(old.pk),
            "author_links-0-position": "0",
            "author_links-0-role": "author",
            "author_links-0-DELETE": "on",
            "author_links-1-book": str(book.pk),
            "author_links-1-author": str(new.pk),
            "author_links-1-position": "1",
            "author_links-1-role": "author",
        },
    )
    response = admin_client.post(f"/admin/catalog/book/{book.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert list(book.authors.all()) == [new]
    assert found("bob") == ["Shared"]
    assert found("alice") == []


def test_renaming_an_author_reindexes_their_books(admin_client: Client) -> None:
    author = AuthorFactory(name="Richard Bachman", bio="")
    BookFactory(title="Thinner", authors=[author], description="")
    response = admin_client.post(f"/admin/catalog/author/{author.pk}/change/", {"name": "Stephen King", "bio": ""})
    assert response.status_code == 302
    assert found("king") == ["Thinner"]
    assert found("bachman") == []


def test_adding_an_author_and_a_genre(admin_client: Client) -> None:
    assert admin_client.post("/admin/catalog/author/add/", {"name": "N. K. Jemisin", "bio": ""}).status_code == 302
    assert Author.objects.get().name == "N. K. Jemisin"
    assert admin_client.post("/admin/catalog/genre/add/", {"name": "Poetry", "slug": "poetry"}).status_code == 302
    assert Genre.objects.get().slug == "poetry"


def test_deleting_a_book_never_ordered(admin_client: Client) -> None:
    book = BookFactory(title="Ephemera", description="")
    response = admin_client.post(f"/admin/catalog/book/{book.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Book.objects.filter(pk=book.pk).exists()
    assert found("ephemera") == []


def test_an_ordered_book_cannot_be_deleted_in_the_admin(admin_client: Client) -> None:
    book = OrderItemFactory().book
    response = admin_client.post(f"/admin/catalog/book/{book.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200  # Django lists the protected order lines instead
    assert Book.objects.filter(pk=book.pk).exists()


def test_changelists_render(admin_client: Client) -> None:
    BookFactory(genres=[GenreFactory()])
    for path in ["/admin/catalog/book/", "/admin/catalog/author/", "/admin/catalog/genre/"]:
        assert admin_client.get(path).status_code == 200
    book = Book.objects.get()
    assert admin_client.get(f"/admin/catalog/book/{book.pk}/change/").status_code == 200
