"""The OpenAPI schema documents every catalog parameter and the read/write shapes (``authors`` vs ``author_ids``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def parameters(schema: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def component(schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_book_list_parameters_with_types(schema: dict[str, Any]) -> None:
    params = parameters(schema, "/api/v1/books")
    expected_types = {
        "search": "string",
        "prefer_in_stock": "boolean",
        "author": "array",
        "contributor": "array",
        "series": "array",
        "format": "array",
        "publication_status": "array",
        "genre": "array",
        "language": "array",
        "min_price": "number",
        "max_price": "number",
        "in_stock": "boolean",
        "highlight": "boolean",
        "published_after": "string",
        "published_before": "string",
        "isbn": "array",
        "ordering": "array",
        "page": "integer",
        "page_size": "integer",
    }
    assert {name: p["schema"]["type"] for name, p in params.items()} == expected_types
    for name in expected_types:
        assert params[name].get("description"), f"{name} is undocumented"
    assert params["published_after"]["schema"]["format"] == "date"
    assert params["published_before"]["schema"]["format"] == "date"
    assert "en" in params["language"]["schema"]["items"]["enum"]
    assert len(params["language"]["schema"]["items"]["enum"]) == 184
    assert set(params["ordering"]["schema"]["items"]["enum"]) == {
        f"{sign}{field}"
        for sign in ("", "-")
        for field in ("title", "price", "published_date", "created_at", "series_number", "release_date")
    }
    assert set(params["format"]["schema"]["items"]["enum"]) == {
        "hardcover",
        "paperback",
        "mass_market",
        "board_book",
        "audio_cd",
        "other",
    }


def test_facets_take_the_list_parameters_and_suggest_takes_q(schema: dict[str, Any]) -> None:
    listed = parameters(schema, "/api/v1/books")
    facets = parameters(schema, "/api/v1/books/facets")
    assert set(facets) == set(listed) - {"page", "page_size"}
    assert facets["genre"] == listed["genre"]
    suggest = parameters(schema, "/api/v1/search/suggest")
    assert set(suggest) == {"q"}
    assert suggest["q"]["required"] is True


def test_book_multi_value_filters_are_documented(schema: dict[str, Any]) -> None:
    """Repeated (``explode``) or comma-separated values mean "either"; slugs and codes in any case."""
    params = parameters(schema, "/api/v1/books")
    item_types = {"author": "integer", "genre": "string", "language": "string", "isbn": "string"}
    for name, item_type in item_types.items():
        assert params[name]["schema"]["items"]["type"] == item_type
        assert params[name]["style"] == "form"
        assert params[name]["explode"] is True
        assert "either" in params[name]["description"]
        assert "commas" in params[name]["description"]
    assert params["author"]["schema"]["items"]["minimum"] == 1
    assert "case-insensitively" in params["genre"]["description"]
    assert "any case" in params["language"]["description"]
    assert "`yes`/`no`" in params["in_stock"]["description"]


def test_author_list_parameters(schema: dict[str, Any]) -> None:
    params = parameters(schema, "/api/v1/authors")
    assert params["search"]["schema"]["type"] == "string"
    assert params["search"]["description"]
    assert set(params["ordering"]["schema"]["items"]["enum"]) == {"name", "-name", "book_count", "-book_count"}


def test_book_read_shape_nests_authors_and_genres(schema: dict[str, Any]) -> None:
    book = component(
        schema,
        schema["paths"]["/api/v1/books/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
    )
    assert "author_ids" not in book["properties"]
    assert "genre_ids" not in book["properties"]
    author = component(schema, book["properties"]["authors"]["items"])
    assert set(author["properties"]) == {"id", "name"}
    genre = component(schema, book["properties"]["genres"]["items"])
    assert set(genre["properties"]) == {"id", "name", "slug"}
    contributor = component(schema, book["properties"]["contributors"]["items"])
    assert set(contributor["properties"]) == {"id", "name", "role"}
    edition = component(schema, book["properties"]["other_formats"]["items"])
    assert set(edition["properties"]) == {"id", "isbn", "format", "price"}
    assert book["properties"]["price"]["type"] == "string"
    assert set(book["required"]) >= {"id", "isbn", "title", "authors", "genres", "price", "stock", "is_active"}


@pytest.mark.parametrize(("path", "method"), [("/api/v1/books", "post"), ("/api/v1/books/{id}", "put")])
def test_book_write_shape_takes_ids(schema: dict[str, Any], path: str, method: str) -> None:
    operation = schema["paths"][path][method]
    write = component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert "authors" not in write["properties"]
    assert "genres" not in write["properties"]
    assert write["properties"]["author_ids"]["type"] == "array"
    assert write["properties"]["author_ids"]["items"]["type"] == "integer"
    assert write["properties"]["author_ids"]["minItems"] == 1
    assert write["properties"]["genre_ids"]["items"]["type"] == "integer"
    # A book is credited by ``author_ids`` or by ``contributors``: neither alone is required.
    assert {"isbn", "title", "price"} <= set(write["required"])
    assert not {"author_ids", "contributors"} & set(write["required"])
    credit = component(schema, write["properties"]["contributors"]["items"])
    assert set(credit["properties"]) == {"author_id", "role"}
    assert write["properties"]["series_id"]["type"] == "integer"
    assert "id" not in write["properties"]
    status = "201" if method == "post" else "200"
    response = component(schema, operation["responses"][status]["content"]["application/json"]["schema"])
    assert "authors" in response["properties"]


def test_book_patch_takes_a_partial_write_shape(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/books/{id}"]["patch"]
    write = component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert "author_ids" in write["properties"]
    assert "required" not in write


def test_author_delete_documents_the_conflict(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/authors/{id}"]["delete"]["responses"]
    assert {"204", "409"} <= set(responses)


def test_genre_slug_is_optional_on_write_and_always_read(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/genres"]["post"]
    write = component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert write["required"] == ["name"]
    read = component(schema, operation["responses"]["201"]["content"]["application/json"]["schema"])
    assert "slug" in read["required"]
