"""Contributors with roles, series, formats and works, publication status on ``/api/v1/books`` and ``/api/v1/series``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Book, BookAuthor, Series
from tests.factories import AuthorFactory, BookFactory, SeriesFactory, WorkFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def titles(client: APIClient, **params: Any) -> list[str]:
    response = client.get("/api/v1/books", {"ordering": "title", **params})
    assert response.status_code == 200, response.content
    return [book["title"] for book in response.json()["results"]]


# --- Reading --------------------------------------------------------------------------


def test_book_reads_contributors_series_format_and_other_formats(api_client: APIClient) -> None:
    herbert, schoenherr = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="John Schoenherr")
    dune_series = SeriesFactory(name="Dune Chronicles")
    work = WorkFactory(title="Dune")
    paperback = BookFactory(
        title="Dune",
        contributors=[(herbert, "author"), (schoenherr, "illustrator")],
        series=dune_series,
        series_number=1,
        format="paperback",
        work=work,
    )
    hardcover = BookFactory(title="Dune", isbn="9780593099322", format="hardcover", work=work, price=Decimal("25.00"))
    BookFactory(title="Dune", format="audio_cd", work=work, is_active=False)  # hidden editions are not offered

    body = api_client.get(f"/api/v1/books/{paperback.pk}").json()

    assert body["contributors"] == [
        {"id": herbert.pk, "name": "Frank Herbert", "role": "author"},
        {"id": schoenherr.pk, "name": "John Schoenherr", "role": "illustrator"},
    ]
    assert body["authors"] == [{"id": herbert.pk, "name": "Frank Herbert"}]  # old clients: role author only
    assert body["series"] == {"id": dune_series.pk, "name": "Dune Chronicles", "number": 1}
    assert body["format"] == "paperback"
    assert body["work_id"] == work.pk
    assert body["other_formats"] == [
        {"id": hardcover.pk, "isbn": "9780593099322", "format": "hardcover", "price": "25.00"}
    ]
    assert (body["publication_status"], body["release_date"]) == ("active", None)
    listed = api_client.get("/api/v1/books", {"series": dune_series.pk}).json()["results"]
    assert listed == [body]


def test_a_book_alone_in_its_work_has_no_other_formats_and_no_series(api_client: APIClient) -> None:
    book = BookFactory()
    body = api_client.get(f"/api/v1/books/{book.pk}").json()
    assert (body["other_formats"], body["series"], body["format"]) == ([], None, "other")


# --- Writing --------------------------------------------------------------------------


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"isbn": "978-0-441-01359-3", "title": "Dune", "price": "9.99"}
    body.update(overrides)
    return body


def test_create_with_contributors_in_roles_and_series(staff_client: APIClient) -> None:
    herbert, translator = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Michel Demuth")
    series = SeriesFactory(name="Dune")
    response = staff_client.post(
        "/api/v1/books",
        _payload(
            contributors=[
                {"author_id": herbert.pk, "role": "author"},
                {"author_id": translator.pk, "role": "translator"},
            ],
            series_id=series.pk,
            series_number=2,
            format="mass_market",
            publication_status="forthcoming",
            release_date="2031-05-01",
            preorder_allowance=25,
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(c["name"], c["role"]) for c in body["contributors"]] == [
        ("Frank Herbert", "author"),
        ("Michel Demuth", "translator"),
    ]
    assert body["series"] == {"id": series.pk, "name": "Dune", "number": 2}
    assert (body["format"], body["publication_status"], body["release_date"], body["preorder_allowance"]) == (
        "mass_market",
        "forthcoming",
        "2031-05-01",
        25,
    )
    book = Book.objects.get(pk=body["id"])
    assert book.work.title == "Dune"  # a work of its own
    assert list(BookAuthor.objects.filter(book=book).values_list("role", "position")) == [
        ("author", 0),
        ("translator", 1),
    ]


def test_author_ids_still_write_role_author(staff_client: APIClient) -> None:
    author = AuthorFactory()
    response = staff_client.post("/api/v1/books", _payload(author_ids=[author.pk]), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["contributors"] == [{"id": author.pk, "name": author.name, "role": "author"}]


def test_an_edited_anthology_may_have_no_author(staff_client: APIClient) -> None:
    editor = AuthorFactory(name="Ann VanderMeer")
    response = staff_client.post(
        "/api/v1/books", _payload(contributors=[{"author_id": editor.pk, "role": "editor"}]), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["authors"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, "author_ids"),  # neither author_ids nor contributors
        ({"author_ids": "AUTHOR", "contributors": "AUTHOR:author"}, "contributors"),  # both
        ({"contributors": [{"author_id": "AUTHOR", "role": "cook"}]}, "contributors"),
        ({"contributors": [{"author_id": 999999, "role": "author"}]}, "contributors"),
        ({"contributors": "AUTHOR:author,AUTHOR:author"}, "contributors"),  # the same credit twice
        ({"contributors": []}, "contributors"),
        ({"author_ids": "AUTHOR", "series_id": 999999}, "series_id"),
        ({"author_ids": "AUTHOR", "series_number": 3}, "series_number"),  # a number without a series
        ({"author_ids": "AUTHOR", "format": "scroll"}, "format"),
        ({"author_ids": "AUTHOR", "publication_status": "forthcoming"}, "release_date"),  # no release date
        ({"author_ids": "AUTHOR", "publication_status": "gone"}, "publication_status"),
        ({"author_ids": "AUTHOR", "preorder_allowance": -1}, "preorder_allowance"),
    ],
)
def test_bad_writes_are_400_naming_the_field(staff_client: APIClient, overrides: dict[str, Any], field: str) -> None:
    author = AuthorFactory()

    def resolve(value: Any) -> Any:
        if value == "AUTHOR":
            return [author.pk]
        if isinstance(value, str) and value.startswith("AUTHOR:"):
            return [{"author_id": author.pk, "role": part.split(":")[1]} for part in value.split(",")]
        if isinstance(value, list):
            return [
                {**item, "author_id": author.pk if item.get("author_id") == "AUTHOR" else item.get("author_id")}
                for item in value
            ]
        return value

    response = staff_client.post(
        "/api/v1/books", _payload(**{key: resolve(value) for key, value in overrides.items()}), format="json"
    )
    error = assert_envelope(response, 400, "validation_error")
    assert any(key.split(".")[0] == field for key in error["details"]), error
    assert not Book.objects.exists()


def test_patch_replaces_contributors_and_leaves_the_series(staff_client: APIClient) -> None:
    series = SeriesFactory()
    book = BookFactory(series=series, series_number=4)
    illustrator = AuthorFactory(name="Pauline Baynes")
    response = staff_client.patch(
        f"/api/v1/books/{book.pk}",
        {"contributors": [{"author_id": illustrator.pk, "role": "illustrator"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["contributors"] == [{"id": illustrator.pk, "name": "Pauline Baynes", "role": "illustrator"}]
    assert response.json()["series"]["number"] == 4
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"series_id": None, "series_number": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["series"] is None


# --- Filters and ordering -----------------------------------------------------------------


@pytest.fixture
def shelf() -> dict[str, Any]:
    herbert, baynes = AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Pauline Baynes")
    narnia = SeriesFactory(name="Narnia")
    BookFactory(title="Alpha", authors=[herbert], format="hardcover")
    BookFactory(
        title="Bravo",
        contributors=[(herbert, "author"), (baynes, "illustrator")],
        series=narnia,
        series_number=2,
        format="paperback",
    )
    BookFactory(
        title="Charlie",
        contributors=[(baynes, "narrator")],
        series=narnia,
        series_number=1,
        format="audio_cd",
        publication_status="forthcoming",
        release_date=date(2031, 1, 1),
    )
    BookFactory(title="Delta", series=narnia, format="paperback", publication_status="out_of_print")
    return {"herbert": herbert, "baynes": baynes, "narnia": narnia}


def test_contributor_filter_matches_any_role_author_filter_only_authors(api_client: APIClient, shelf: dict) -> None:
    assert titles(api_client, contributor=shelf["baynes"].pk) == ["Bravo", "Charlie"]
    assert titles(api_client, author=shelf["baynes"].pk) == []
    assert titles(api_client, author=shelf["herbert"].pk) == ["Alpha", "Bravo"]
    assert titles(api_client, contributor=f"{shelf['herbert'].pk},{shelf['baynes'].pk}") == [
        "Alpha",
        "Bravo",
        "Charlie",
    ]


def test_format_status_and_series_filters_take_several_values(api_client: APIClient, shelf: dict) -> None:
    assert titles(api_client, format="paperback") == ["Bravo", "Delta"]
    assert titles(api_client, format="HARDCOVER,audio_cd") == ["Alpha", "Charlie"]
    assert titles(api_client, publication_status="forthcoming") == ["Charlie"]
    assert titles(api_client, publication_status=["active", "out_of_print"]) == ["Alpha", "Bravo", "Delta"]
    assert titles(api_client, series=shelf["narnia"].pk) == ["Bravo", "Charlie", "Delta"]


def test_a_series_lists_in_number_order(api_client: APIClient, shelf: dict) -> None:
    response = api_client.get("/api/v1/books", {"series": shelf["narnia"].pk, "ordering": "series_number"})
    assert [book["title"] for book in response.json()["results"]] == ["Charlie", "Bravo", "Delta"]  # unnumbered last
    response = api_client.get("/api/v1/books", {"series": shelf["narnia"].pk, "ordering": "-series_number"})
    assert [book["title"] for book in response.json()["results"]] == ["Bravo", "Charlie", "Delta"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("format", "scroll"),
        ("format", "paperback,vinyl"),
        ("publication_status", "retired"),
        ("series", "abc"),
        ("series", "0"),
        ("series", "99999999999999999999999"),
        ("contributor", "-1"),
        ("contributor", "1.5"),
        ("ordering", "series"),
    ],
)
def test_malformed_values_are_400_naming_the_parameter(api_client: APIClient, param: str, value: str) -> None:
    error = assert_envelope(api_client.get("/api/v1/books", {param: value}), 400, "validation_error")
    assert param in error["details"]


def test_format_is_a_filter_not_a_renderer(api_client: APIClient) -> None:
    BookFactory(title="Json", format="paperback")
    response = api_client.get("/api/v1/books?format=json")
    assert response.status_code == 400  # DRF would have answered with its JSON renderer
    assert "format" in response.json()["error"]["details"]


# --- Series ---------------------------------------------------------------------------------


def test_series_list_counts_active_books(api_client: APIClient, shelf: dict) -> None:
    SeriesFactory(name="Earthsea")
    BookFactory(series=shelf["narnia"], is_active=False)
    body = api_client.get("/api/v1/series").json()
    assert body["results"] == [
        {"id": Series.objects.get(name="Earthsea").pk, "name": "Earthsea", "book_count": 0},
        {"id": shelf["narnia"].pk, "name": "Narnia", "book_count": 3},
    ]
    ordered = api_client.get("/api/v1/series", {"ordering": "-book_count"}).json()["results"]
    assert [series["name"] for series in ordered] == ["Narnia", "Earthsea"]
    assert [s["name"] for s in api_client.get("/api/v1/series", {"search": "arn"}).json()["results"]] == ["Narnia"]
    assert_envelope(api_client.get("/api/v1/series", {"ordering": "id; drop"}), 400, "validation_error")


def test_staff_create_rename_and_delete_series(staff_client: APIClient) -> None:
    created = staff_client.post("/api/v1/series", {"name": "Earthsea"}, format="json")
    assert created.status_code == 201, created.content
    series_id = created.json()["id"]
    assert created["Location"].endswith(f"/api/v1/series/{series_id}")
    duplicate = staff_client.post("/api/v1/series", {"name": "Earthsea"}, format="json")
    assert "name" in assert_envelope(duplicate, 400, "validation_error")["details"]
    book = BookFactory(series_id=series_id)
    assert_envelope(staff_client.delete(f"/api/v1/series/{series_id}"), 409, "conflict")
    renamed = staff_client.patch(f"/api/v1/series/{series_id}", {"name": "The Earthsea Cycle"}, format="json")
    assert renamed.json() == {"id": series_id, "name": "The Earthsea Cycle", "book_count": 1}
    Book.objects.filter(pk=book.pk).update(series=None)
    assert staff_client.delete(f"/api/v1/series/{series_id}").status_code == 204


def test_customers_may_read_but_not_write_series(customer_client: APIClient) -> None:
    assert customer_client.get("/api/v1/series").status_code == 200
    assert_envelope(customer_client.post("/api/v1/series", {"name": "X"}, format="json"), 403, "permission_denied")


# --- Search -----------------------------------------------------------------------------------


def test_search_finds_every_contributor_role(api_client: APIClient) -> None:
    BookFactory(title="The Lion", contributors=[(AuthorFactory(name="Clive Lewis"), "author")])
    BookFactory(
        title="The Hobbit",
        contributors=[(AuthorFactory(name="John Tolkien"), "author"), (AuthorFactory(name="Rob Inglis"), "narrator")],
    )
    assert titles(api_client, search="Inglis") == ["The Hobbit"]


def test_a_credit_without_a_role_is_an_author_also_on_patch(staff_client: APIClient) -> None:
    book, author = BookFactory(), AuthorFactory()
    credits = [{"author_id": author.pk}, {"author_id": author.pk, "role": "narrator"}]
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"contributors": credits}, format="json")
    assert response.status_code == 200, response.content
    assert [c["role"] for c in response.json()["contributors"]] == ["author", "narrator"]
    twice = [{"author_id": author.pk}, {"author_id": author.pk, "role": "author"}]
    response = staff_client.patch(f"/api/v1/books/{book.pk}", {"contributors": twice}, format="json")
    assert "contributors" in assert_envelope(response, 400, "validation_error")["details"]
