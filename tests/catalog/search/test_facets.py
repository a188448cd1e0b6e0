"""GET /api/v1/books/facets: disjunctive counts, checked against brute force on generated catalogs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from catalog.search.facets import FACET_LIMIT, PRICE_BANDS
from tests.factories import AuthorFactory, BookFactory, GenreFactory, SeriesFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

GENRES = ["fantasy", "mystery", "poetry", "history"]
LANGUAGES = ["en", "de", "fr"]
FORMATS = ["hardcover", "paperback", "audio_cd"]
STATUSES = ["active", "forthcoming", "out_of_print"]
PRICES = [Decimal(p) for p in ("0.00", "5.50", "9.99", "10.00", "19.99", "20.00", "35.00", "50.00", "99.99", "100.00")]
AUTHORS = 5


@dataclass(frozen=True)
class Spec:
    genres: frozenset[int]
    authors: frozenset[int]  # credited as author
    illustrators: frozenset[int]  # credited in another role: not an "author" facet value
    language: str
    format: str
    status: str
    price: Decimal
    stock: int
    active: bool


specs = st.builds(
    Spec,
    genres=st.frozensets(st.integers(0, len(GENRES) - 1), max_size=3),
    authors=st.frozensets(st.integers(0, AUTHORS - 1), min_size=1, max_size=2),
    illustrators=st.frozensets(st.integers(0, AUTHORS - 1), max_size=1),
    language=st.sampled_from(LANGUAGES),
    format=st.sampled_from(FORMATS),
    status=st.sampled_from(STATUSES),
    price=st.sampled_from(PRICES),
    stock=st.sampled_from([0, 3]),
    active=st.booleans(),
)


def _some(values: list[Any]) -> st.SearchStrategy[list[Any] | None]:
    return st.none() | st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)


selections = st.fixed_dictionaries(
    {
        "genre": _some(GENRES),
        "author": _some(list(range(AUTHORS))),
        "language": _some(LANGUAGES),
        "format": _some(FORMATS),
        "publication_status": _some(STATUSES),
        "min_price": st.none() | st.sampled_from(PRICES),
        "max_price": st.none() | st.sampled_from(PRICES),
        "in_stock": st.none() | st.booleans(),
    }
)


def _band(price: Decimal) -> str:
    return next(band.value for band in PRICE_BANDS if band.high is None or price < band.high)


def _brute_force(books: list[Spec], chosen: dict[str, Any], author_ids: list[int]) -> dict[str, Any]:
    """The expected answer, computed book by book in Python."""

    def passes(book: Spec, facet: str) -> bool:
        if facet == "genre" and chosen["genre"]:
            return bool({GENRES[g] for g in book.genres} & set(chosen["genre"]))
        if facet == "author" and chosen["author"]:
            return bool(book.authors & set(chosen["author"]))
        if facet == "language" and chosen["language"]:
            return book.language in chosen["language"]
        if facet == "format" and chosen["format"]:
            return book.format in chosen["format"]
        if facet == "publication_status" and chosen["publication_status"]:
            return book.status in chosen["publication_status"]
        if facet == "price":
            low, high = chosen["min_price"], chosen["max_price"]
            return (low is None or book.price >= low) and (high is None or book.price <= high)
        return True

    facets = ["genre", "author", "language", "format", "publication_status", "price"]
    visible = [b for b in books if b.active and (chosen["in_stock"] is None or (b.stock > 0) == chosen["in_stock"])]

    def counted(facet: str) -> list[Spec]:
        return [b for b in visible if all(passes(b, other) for other in facets if other != facet)]

    counts: dict[str, Counter[Any]] = {
        "genre": Counter(GENRES[g] for b in counted("genre") for g in b.genres),
        "author": Counter(author_ids[a] for b in counted("author") for a in b.authors),
        "language": Counter(b.language for b in counted("language")),
        "format": Counter(b.format for b in counted("format")),
        "publication_status": Counter(b.status for b in counted("publication_status")),
        "price": Counter(_band(b.price) for b in counted("price")),
    }
    expected = {
        facet: sorted(((value, n) for value, n in counter.items()), key=lambda item: (-item[1], item[0]))[:FACET_LIMIT]
        for facet, counter in counts.items()
    }
    return {"count": len([b for b in visible if all(passes(b, f) for f in facets)]), "facets": expected}


def _build(books: list[Spec]) -> list[int]:
    genres = [GenreFactory(slug=slug, name=slug.title()) for slug in GENRES]
    authors = [AuthorFactory(name=f"Author {i}") for i in range(AUTHORS)]
    for book in books:
        credits = [(authors[a], "author") for a in sorted(book.authors)]
        credits += [(authors[a], "illustrator") for a in sorted(book.illustrators)]
        BookFactory(
            genres=[genres[g] for g in sorted(book.genres)],
            contributors=credits,
            language=book.language,
            format=book.format,
            publication_status=book.status,
            release_date="2099-01-01" if book.status == "forthcoming" else None,
            price=book.price,
            stock=book.stock,
            is_active=book.active,
        )
    return [author.pk for author in authors]


def _query(chosen: dict[str, Any], author_ids: list[int]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in chosen.items():
        if value is None:
            continue
        if name == "author":
            params[name] = [author_ids[a] for a in value]
        elif isinstance(value, bool):
            params[name] = "true" if value else "false"
        else:
            params[name] = value
    return params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(books=st.lists(specs, max_size=14), chosen=selections)
def test_facet_counts_equal_brute_force_counts(api_client: APIClient, books: list[Spec], chosen: dict[str, Any]):
    cache.clear()  # the answers of earlier examples are cached per parameters
    with transaction.atomic():
        author_ids = _build(books)
        chosen = {**chosen, "author": chosen["author"]}
        response = api_client.get("/api/v1/books/facets", _query(chosen, author_ids), format=None)
        transaction.set_rollback(True)
    assert response.status_code == 200, response.content
    body = response.json()
    expected = _brute_force(books, chosen, author_ids)
    assert body["count"] == expected["count"]
    got = {facet: [(v["value"], v["count"]) for v in values] for facet, values in body["facets"].items()}
    assert got == expected["facets"]


@pytest.fixture
def shelf() -> dict[str, Any]:
    fantasy = GenreFactory(slug="fantasy", name="Fantasy")
    mystery = GenreFactory(slug="mystery", name="Mystery")
    herbert = AuthorFactory(name="Frank Herbert")
    christie = AuthorFactory(name="Agatha Christie")
    BookFactory(title="Dune", genres=[fantasy], authors=[herbert], price=Decimal("9.99"), format="paperback")
    BookFactory(title="Dune Messiah", genres=[fantasy], authors=[herbert], price=Decimal("25.00"), language="de")
    BookFactory(title="Poirot", genres=[mystery], authors=[christie], price=Decimal("12.00"), format="paperback")
    BookFactory(title="Hidden Dune", genres=[fantasy], authors=[herbert], is_active=False)
    return {"herbert": herbert, "christie": christie}


def test_the_answer_has_the_contract_shape_and_labels(api_client: APIClient, shelf: dict[str, Any]) -> None:
    body = api_client.get("/api/v1/books/facets").json()
    assert body == {
        "count": 3,
        "facets": {
            "genre": [
                {"value": "fantasy", "label": "Fantasy", "count": 2},
                {"value": "mystery", "label": "Mystery", "count": 1},
            ],
            "language": [
                {"value": "en", "label": "English", "count": 2},
                {"value": "de", "label": "German", "count": 1},
            ],
            "format": [
                {"value": "paperback", "label": "Paperback", "count": 2},
                {"value": "other", "label": "Other", "count": 1},
            ],
            "author": [
                {"value": shelf["herbert"].pk, "label": "Frank Herbert", "count": 2},
                {"value": shelf["christie"].pk, "label": "Agatha Christie", "count": 1},
            ],
            "publication_status": [{"value": "active", "label": "Active", "count": 3}],
            "price": [
                {"value": "0-10", "label": "under 10.00", "count": 1},
                {"value": "10-20", "label": "10.00 to 19.99", "count": 1},
                {"value": "20-30", "label": "20.00 to 29.99", "count": 1},
            ],
        },
    }


def test_a_facet_ignores_its_own_filter_and_obeys_the_others(api_client: APIClient, shelf: dict[str, Any]) -> None:
    body = api_client.get("/api/v1/books/facets", {"genre": "fantasy", "format": "paperback"}).json()
    assert body["count"] == 1  # Dune
    # genre counts keep format=paperback but not genre=fantasy: Dune and Poirot.
    assert [(v["value"], v["count"]) for v in body["facets"]["genre"]] == [("fantasy", 1), ("mystery", 1)]
    # format counts keep genre=fantasy but not format: Dune (paperback), Dune Messiah (other).
    assert [(v["value"], v["count"]) for v in body["facets"]["format"]] == [("other", 1), ("paperback", 1)]
    assert [(v["value"], v["count"]) for v in body["facets"]["language"]] == [("en", 1)]


def test_search_and_non_facet_filters_narrow_every_facet(api_client: APIClient, shelf: dict[str, Any]) -> None:
    body = api_client.get("/api/v1/books/facets", {"search": "dune", "min_price": "20"}).json()
    assert body["count"] == 1  # Dune Messiah
    # The price facet ignores min_price: both Dune books, by band.
    assert [(v["value"], v["count"]) for v in body["facets"]["price"]] == [("0-10", 1), ("20-30", 1)]
    assert [(v["value"], v["count"]) for v in body["facets"]["language"]] == [("de", 1)]
    listed = api_client.get("/api/v1/books", {"search": "dune", "min_price": "20"}).json()
    assert listed["count"] == body["count"]


def test_staff_count_inactive_books_as_the_list_shows_them(staff_client: APIClient, shelf: dict[str, Any]) -> None:
    assert staff_client.get("/api/v1/books/facets").json()["count"] == 4
    assert staff_client.get("/api/v1/books/facets", {"search": "hidden"}).json()["count"] == 1


def test_a_search_that_can_match_nothing_answers_empty_facets(api_client: APIClient, shelf: dict[str, Any]) -> None:
    body = api_client.get("/api/v1/books/facets", {"search": "the"}).json()
    assert body["count"] == 0
    assert all(values == [] for values in body["facets"].values())


def test_at_most_twenty_values_per_facet_largest_first(api_client: APIClient) -> None:
    authors = [AuthorFactory(name=f"Writer {i:02d}") for i in range(23)]
    for i, author in enumerate(authors):
        BookFactory(authors=[author])
        if i < 2:
            BookFactory(authors=[author])
    values = api_client.get("/api/v1/books/facets").json()["facets"]["author"]
    assert len(values) == 20
    assert [v["count"] for v in values[:3]] == [2, 2, 1]
    assert [v["value"] for v in values[:2]] == [authors[0].pk, authors[1].pk]
    assert [v["value"] for v in values[2:]] == [a.pk for a in authors[2:20]]  # ties by value


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"genre": "not a slug"}, "genre"),
        ({"author": "0"}, "author"),
        ({"language": "xx"}, "language"),
        ({"format": "scroll"}, "format"),
        ({"publication_status": "lost"}, "publication_status"),
        ({"min_price": "cheap"}, "min_price"),
        ({"max_price": "1" * 20}, "max_price"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"ordering": "--price"}, "ordering"),
    ],
)
def test_bad_parameters_are_the_lists_400(api_client: APIClient, params: dict[str, str], name: str) -> None:
    error = assert_envelope(api_client.get("/api/v1/books/facets", params), 400, "validation_error")
    assert name in error["details"]


def test_the_number_of_queries_does_not_grow_with_selections_or_books(api_client: APIClient) -> None:
    fantasy = GenreFactory(slug="fantasy")
    series = SeriesFactory()
    for i in range(6):
        BookFactory(genres=[fantasy], series=series if i % 2 else None, price=Decimal(5 + i * 20))
    assert api_client.get("/api/v1/books/facets", {"search": "first"}).status_code == 200  # synonyms now cached
    counts = []
    for params in [
        {},
        {"search": "book"},
        {
            "search": "book",
            "genre": "fantasy",
            "author": "1,2",
            "language": "en,de",
            "format": "other",
            "publication_status": "active",
            "min_price": "1",
            "max_price": "90",
            "series": str(series.pk),
            "contributor": "1",
            "in_stock": "true",
            "published_after": "2000-01-01",
        },
    ]:
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get("/api/v1/books/facets", params).status_code == 200
        counts.append(len(queries))
    # One statement for the counts; a search adds the typo-tolerant search's own fixed lookups (as on the list).
    assert counts[0] == 1
    assert counts[1] == counts[2] <= 4


def test_answers_are_cached_per_parameters_for_the_configured_time(api_client: APIClient, settings) -> None:
    settings.CATALOG_FACETS_CACHE_SECONDS = 60
    BookFactory(language="en")
    first = api_client.get("/api/v1/books/facets", {"language": "EN,en"}).json()
    BookFactory(language="en")
    with CaptureQueriesContext(connection) as queries:
        again = api_client.get("/api/v1/books/facets", {"language": "en"}).json()  # the same, spelled otherwise
    assert again == first
    assert first["count"] == 1
    assert len(queries) == 0
    assert api_client.get("/api/v1/books/facets").json()["count"] == 2  # other parameters: computed afresh
    settings.CATALOG_FACETS_CACHE_SECONDS = 0
    assert api_client.get("/api/v1/books/facets", {"language": "en"}).json()["count"] == 2


def _sampled_brute_force(
    books: list[Spec], chosen: dict[str, Any], author_ids: list[int], sample: int
) -> dict[str, Any]:
    """The expected answer when only the first ``sample`` matching books (by id) are read, then scaled."""
    visible = [b for b in books if b.active and (chosen["in_stock"] is None or (b.stock > 0) == chosen["in_stock"])]
    if len(visible) <= sample:
        return {**_brute_force(books, chosen, author_ids), "estimates": False}
    first = set(map(id, visible[:sample]))
    # The books are built in list order, so list order is id order; the brute force sees only the sample.
    only_sample = [b if id(b) in first else Spec(**{**b.__dict__, "active": False}) for b in books]
    exact = _brute_force(only_sample, chosen, author_ids)
    total = len(visible)

    def scale(n: int) -> int:
        return max(1, (n * total + sample // 2) // sample)

    selected = any(chosen[name] is not None for name in chosen if name != "in_stock")
    facets = {
        facet: sorted(((value, scale(n)) for value, n in values), key=lambda item: (-item[1], item[0]))
        for facet, values in exact["facets"].items()
    }
    count = (scale(exact["count"]) if exact["count"] else 0) if selected else total
    return {"count": count, "facets": facets, "estimates": True, "count_is_estimate": selected}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(books=st.lists(specs, max_size=14), chosen=selections, sample=st.integers(1, 8))
def test_beyond_the_sample_counts_are_the_first_books_by_id_scaled(
    api_client: APIClient, books: list[Spec], chosen: dict[str, Any], sample: int
) -> None:
    from django.test import override_settings

    cache.clear()
    with transaction.atomic(), override_settings(CATALOG_FACETS_EXACT_LIMIT=sample):
        author_ids = _build(books)
        response = api_client.get("/api/v1/books/facets", _query(chosen, author_ids), format=None)
        transaction.set_rollback(True)
    assert response.status_code == 200, response.content
    body = response.json()
    expected = _sampled_brute_force(books, chosen, author_ids, sample)
    assert body.get("counts_are_estimates", False) is expected["estimates"]
    assert body.get("count_is_estimate", False) is expected.get("count_is_estimate", False)
    assert body["count"] == expected["count"]
    got = {facet: [(v["value"], v["count"]) for v in values] for facet, values in body["facets"].items()}
    assert got == expected["facets"]


def test_only_the_sample_is_read_for_a_broad_search(api_client: APIClient, settings) -> None:
    """12 matches, a sample of 3: every count is a number of sampled books times 4, never the exact 3 and 9.

    On SQLite the sample is the first three by id (all German). On PostgreSQL it comes from the first
    matches in the search table's order (the same here unless earlier tests left free space behind).
    """
    settings.CATALOG_FACETS_EXACT_LIMIT = 3
    settings.CATALOG_FACETS_CACHE_SECONDS = 0
    for i in range(12):
        BookFactory(title=f"Church {i}", language="de" if i < 3 else "en", price=Decimal("12.00"))
    BookFactory(title="Chapel", language="fr")
    body = api_client.get("/api/v1/books/facets", {"search": "church"}).json()
    assert body["count"] == 12  # the matches themselves are counted (exactly, below the list's limit)
    assert "count_is_estimate" not in body
    assert body["counts_are_estimates"] is True
    languages = {v["value"]: v["count"] for v in body["facets"]["language"]}
    assert set(languages) <= {"de", "en"}
    assert sum(languages.values()) == 12
    assert all(n % 4 == 0 for n in languages.values())  # k of 3 sampled books, times 12 / 3
    if connection.vendor == "sqlite":
        assert languages == {"de": 12}
    assert body["facets"]["price"] == [{"value": "10-20", "label": "10.00 to 19.99", "count": 12}]
    # With the bound at the number of matches, every count is exact and unmarked.
    settings.CATALOG_FACETS_EXACT_LIMIT = 12
    body = api_client.get("/api/v1/books/facets", {"search": "church"}).json()
    assert "counts_are_estimates" not in body
    assert [(v["value"], v["count"]) for v in body["facets"]["language"]] == [("en", 9), ("de", 3)]
    # A facet selection beyond the bound: the count is the sample's, scaled, and says it is an estimate.
    settings.CATALOG_FACETS_EXACT_LIMIT = 3
    body = api_client.get("/api/v1/books/facets", {"search": "church", "language": "en"}).json()
    assert body["count_is_estimate"] is True
    assert body["count"] == languages.get("en", 0)
    assert {v["value"]: v["count"] for v in body["facets"]["language"]} == languages


def test_beyond_the_lists_exact_limit_the_count_is_marked_an_estimate(api_client: APIClient, settings) -> None:
    settings.CATALOG_FACETS_EXACT_LIMIT = 2
    settings.CATALOG_FACETS_CACHE_SECONDS = 0
    settings.LIST_EXACT_COUNT_LIMIT = 4
    for i in range(6):
        BookFactory(title=f"Church {i}")
    body = api_client.get("/api/v1/books/facets", {"search": "church"}).json()
    listed = api_client.get("/api/v1/books", {"search": "church"}).json()
    assert body["counts_are_estimates"] is True
    assert body["count"] >= 5
    # As the list: SQLite counts exactly, PostgreSQL answers its estimate and says so.
    assert body.get("count_is_estimate", False) is (connection.vendor == "postgresql")
    assert listed.get("count_is_estimate", False) is body.get("count_is_estimate", False)
    if connection.vendor == "sqlite":
        assert body["count"] == listed["count"] == 6


@pytest.mark.parametrize("params", [{}, {"search": "book"}, {"search": "book", "genre": "fantasy", "in_stock": "true"}])
def test_beyond_the_sample_the_number_of_queries_stays_the_same(api_client: APIClient, settings, params) -> None:
    settings.CATALOG_FACETS_EXACT_LIMIT = 2
    settings.CATALOG_FACETS_CACHE_SECONDS = 0
    fantasy = GenreFactory(slug="fantasy")
    counts = []
    for _ in range(2):
        for _ in range(6):
            BookFactory(title="A book", genres=[fantasy], stock=3)
        with CaptureQueriesContext(connection) as queries:
            body = api_client.get("/api/v1/books/facets", params).json()
        assert body["counts_are_estimates"] is True
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5
