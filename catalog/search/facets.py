"""Facet counts for a set of books: how many books each genre, language, format, author,
publication status and price band would give (API.md "Catalog additions", ``/books/facets``).

Disjunctive: a facet's counts ignore that facet's own selection, so choosing
``genre=fantasy`` still shows how many books each other genre would give,
while every other selection (and the search, and the filters that are not
facets) applies. Values with no book are left out; at most ``FACET_LIMIT``
values per facet, the largest first (ties by value).

One SQL statement whatever the selections: the matching books are computed
once (a materialised CTE of their facet columns plus one flag per active
facet selection: "passes the genre selection", ...), then each facet is a
GROUP BY over the rows whose other flags hold, all in one ``UNION ALL``.
The search and the non-facet filters therefore run once, not once per facet.

Bounded at any size: the CTE holds at most the first ``exact_limit`` matching
books by id (``CATALOG_FACETS_EXACT_LIMIT``, default 5,000), plus one that
only says "there are more". (For a search with no other filter on PostgreSQL,
the candidates are the first ``exact_limit + 1`` matches in the search table's
physical order, read from the GIN index with a bitmap that stops there, and
the sample is the first by id among them: ordering every match by id would
read every match's row. In a table filled in id order the two are the same.) Up to that many matches every count is exact.
Beyond it the counts are those of that sample scaled by ``total / sample``,
where ``total`` is the number of matching books counted the list's way (exact
up to ``LIST_EXACT_COUNT_LIMIT``, else an estimate), and the answer says so
(``Facets.counts_are_estimates``; ``count_is_estimate`` when ``count`` is one).
Work and time stay those of ``exact_limit`` books whatever the catalog holds.

Price bands (``PRICE_BANDS``): ``a-b`` holds ``a <= price < b``; the last,
``100-``, every price from 100.00 up. A frontend selects a band with
``min_price=a&max_price=<b - 0.01>``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from bookstore.counting import bounded_count
from catalog.choices import BookFormat, ContributorRole, PublicationStatus
from catalog.languages import Language
from catalog.models import Author, Book, BookAuthor, Genre

__all__ = ["FACETS", "FACET_LIMIT", "PRICE_BANDS", "FacetSelection", "FacetValue", "Facets", "book_facets"]

#: At most this many values per facet.
FACET_LIMIT = 20

#: The facets, in the order of the answer.
FACETS = ("genre", "language", "format", "author", "publication_status", "price")


@dataclass(frozen=True, slots=True)
class PriceBand:
    """``low <= price < high`` (no upper bound when ``high`` is None)."""

    low: Decimal
    high: Decimal | None

    @property
    def value(self) -> str:
        return f"{self.low:.0f}-" + ("" if self.high is None else f"{self.high:.0f}")

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{self.low:.2f} and over"
        if self.low == 0:
            return f"under {self.high:.2f}"
        return f"{self.low:.2f} to {self.high - Decimal('0.01'):.2f}"


#: The price bands, cheapest first: under 10, 10 to 19.99, 20 to 29.99, 30 to 49.99, 50 to 99.99, 100 and over.
PRICE_BANDS = tuple(
    PriceBand(Decimal(low), None if high is None else Decimal(high))
    for low, high in ((0, 10), (10, 20), (20, 30), (30, 50), (50, 100), (100, None))
)

_LABELS: dict[str, dict[str, str]] = {
    "language": dict(Language.choices),
    "format": dict(BookFormat.choices),
    "publication_status": dict(PublicationStatus.choices),
    "price": {band.value: band.label for band in PRICE_BANDS},
}


@dataclass(frozen=True, slots=True)
class FacetSelection:
    """The values chosen in each facet (the books list's filters of the same names), already validated.

    Empty means "no selection". ``genres`` are lower-case slugs, ``authors``
    author ids (credited with role ``author``); the price facet's selection
    is ``min_price``/``max_price`` (both inclusive).
    """

    genres: Sequence[str] = ()
    authors: Sequence[int] = ()
    languages: Sequence[str] = ()
    formats: Sequence[str] = ()
    publication_statuses: Sequence[str] = ()
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    def conditions(self) -> dict[str, Any]:
        """Per facet with a selection: an expression true for the books the selection keeps."""
        flags: dict[str, Any] = {}
        if self.genres:
            genre_ids = Genre.objects.alias(slug_lower=Lower("slug")).filter(slug_lower__in=self.genres).values("pk")
            links = Book.genres.through.objects.filter(book_id=OuterRef("pk"), genre_id__in=genre_ids)
            flags["genre"] = Exists(links)
        if self.authors:
            credits = BookAuthor.objects.filter(
                book_id=OuterRef("pk"), author_id__in=self.authors, role=ContributorRole.AUTHOR
            )
            flags["author"] = Exists(credits)
        for name, values, field_name in (
            ("language", self.languages, "language"),
            ("format", self.formats, "format"),
            ("publication_status", self.publication_statuses, "publication_status"),
        ):
            if values:
                flags[name] = ExpressionWrapper(Q(**{f"{field_name}__in": list(values)}), output_field=BooleanField())
        price = Q()
        if self.min_price is not None:
            price &= Q(price__gte=self.min_price)
        if self.max_price is not None:
            price &= Q(price__lte=self.max_price)
        if price:
            flags["price"] = ExpressionWrapper(price, output_field=BooleanField())
        return flags


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str | int
    label: str
    count: int


@dataclass(slots=True)
class Facets:
    """``count``: the books matching every selection; ``facets``: per facet, its values, largest first.

    ``count_is_estimate``: ``count`` is an estimate; ``counts_are_estimates``: the facets' counts are
    (both only when more books match than the sample holds).
    """

    count: int = 0
    facets: dict[str, list[FacetValue]] = field(default_factory=lambda: {name: [] for name in FACETS})
    count_is_estimate: bool = False
    counts_are_estimates: bool = False


def _price_band_sql(column: str) -> tuple[str, list[Any]]:
    whens, params = [], []
    for band in PRICE_BANDS:
        if band.high is None:
            continue
        whens.append(f"WHEN {column} < %s THEN %s")
        params += [band.high, band.value]
    return f"CASE {' '.join(whens)} ELSE %s END", [*params, PRICE_BANDS[-1].value]


def book_facets(
    *,
    books: QuerySet[Book],
    selection: FacetSelection,
    limit: int = FACET_LIMIT,
    exact_limit: int | None = None,
    sample: QuerySet[Book] | None = None,
    counter: Callable[[int], tuple[int, bool]] | None = None,
) -> Facets:
    """Disjunctive facet counts of ``books`` (already filtered by everything but the facets) under ``selection``.

    At most ``exact_limit`` books (default ``CATALOG_FACETS_EXACT_LIMIT``) are read: the first by id. With
    more matches, their counts are scaled to the number of matches and marked as estimates (module docstring).
    ``sample``: the books to take the sample from instead of ``books`` (a bounded set of their ids, found in a
    search's index alone);
    ``counter(limit)``: their number (exact below ``limit``) and whether it is an estimate, likewise.

    One query when every match fits in the sample; otherwise one more to count the matches.
    """
    if books.query.is_empty():
        return Facets()
    exact_limit = int(settings.CATALOG_FACETS_EXACT_LIMIT if exact_limit is None else exact_limit)
    flags = selection.conditions()
    flag_columns = {name: f"f_{i}" for i, name in enumerate(flags)}
    source = books if sample is None else sample
    columns = source.order_by().annotate(**{flag_columns[name]: flags[name] for name in flags})
    columns = columns.values_list("pk", "language", "format", "publication_status", "price", *flag_columns.values())
    # The first exact_limit + 1 books by id: the extra one only tells that there are more than the sample.
    columns = columns.order_by("pk")[: exact_limit + 1]
    connection = connections[books.db]
    try:
        base_sql, base_params = columns.query.get_compiler(using=books.db).as_sql()
    except EmptyResultSet:
        return Facets()
    qn = connection.ops.quote_name

    def where(facet: str | None) -> str:
        """The rows counted for ``facet``: those passing every other facet's selection."""
        held = [f"m.{column}" for name, column in flag_columns.items() if name != facet]
        return f"WHERE {' AND '.join(held)}" if held else ""

    params: list[Any] = [*base_params, exact_limit]
    arms = [
        "SELECT 'read' AS facet, NULL AS value, NULL AS label, COUNT(*) AS n FROM r",
        f"SELECT 'count' AS facet, NULL AS value, NULL AS label, COUNT(*) AS n FROM m {where(None)}",  # noqa: S608 (ORM SQL, names from model metadata)
    ]
    band_sql, band_params = _price_band_sql("m.price")
    for facet, expression, expression_params in (
        ("language", "m.language", []),
        ("format", "m.format", []),
        ("publication_status", "m.publication_status", []),
        ("price", band_sql, band_params),
    ):
        arms.append(
            f"SELECT * FROM (SELECT %s AS facet, {expression} AS value, NULL AS label, COUNT(*) AS n"  # noqa: S608 (ORM SQL, names from model metadata)
            f" FROM m {where(facet)} GROUP BY 2 ORDER BY n DESC, value LIMIT %s) AS t_{facet}"
        )
        params += [facet, *expression_params, limit]
    book_genres = Book.genres.through._meta.db_table
    arms.append(
        "SELECT * FROM (SELECT %s AS facet, g.slug AS value, g.name AS label, COUNT(*) AS n"  # noqa: S608 (ORM SQL, names from model metadata)
        f" FROM m JOIN {qn(book_genres)} bg ON bg.book_id = m.id JOIN {qn(Genre._meta.db_table)} g ON g.id = bg.genre_id"
        f" {where('genre')} GROUP BY g.id, g.slug, g.name ORDER BY n DESC, g.slug LIMIT %s) AS t_genre"
    )
    params += ["genre", limit]
    arms.append(
        "SELECT %s AS facet, CAST(a.id AS varchar(20)) AS value, a.name AS label, t.n AS n FROM ("  # noqa: S608 (ORM SQL, names from model metadata)
        f"SELECT ba.author_id, COUNT(*) AS n FROM m JOIN {qn(BookAuthor._meta.db_table)} ba"
        f" ON ba.book_id = m.id AND ba.role = %s {where('author')}"
        " GROUP BY ba.author_id ORDER BY n DESC, ba.author_id LIMIT %s"
        f") AS t JOIN {qn(Author._meta.db_table)} a ON a.id = t.author_id"
    )
    params += ["author", ContributorRole.AUTHOR.value, limit]
    cte_columns = ", ".join(["id", "language", "format", "publication_status", "price", *flag_columns.values()])
    union = " UNION ALL ".join(arms)
    sql = f"WITH r ({cte_columns}) AS MATERIALIZED ({base_sql}), m AS MATERIALIZED (SELECT * FROM r ORDER BY id LIMIT %s) {union}"  # noqa: S608 (ORM SQL, names from model metadata)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = _assemble(rows)
    if result.read <= exact_limit:
        return result.facets_found
    # More books match than the sample holds: scale its counts to their number.
    total, total_is_estimate = (counter or functools.partial(bounded_count, books))(
        int(settings.LIST_EXACT_COUNT_LIMIT) + 1
    )
    return _scaled(
        result.facets_found, total=total, total_is_estimate=total_is_estimate, sample=exact_limit, exact_count=not flags
    )


def _scale(n: int, *, total: int, sample: int) -> int:
    """``n`` books of a sample of ``sample``, as a share of ``total`` (at least 1: the value exists)."""
    return max(1, (n * total + sample // 2) // sample)


def _scaled(found: Facets, *, total: int, total_is_estimate: bool, sample: int, exact_count: bool) -> Facets:
    total = max(total, sample)  # the sample itself is a lower bound, whatever an estimate says
    scaled = Facets(counts_are_estimates=True)
    if exact_count:  # no facet selection: ``count`` is the number of matches itself
        scaled.count, scaled.count_is_estimate = total, total_is_estimate
    else:
        scaled.count = 0 if found.count == 0 else _scale(found.count, total=total, sample=sample)
        scaled.count_is_estimate = True
    for facet, values in found.facets.items():
        scaled.facets[facet] = [
            FacetValue(v.value, v.label, _scale(v.count, total=total, sample=sample)) for v in values
        ]
        scaled.facets[facet].sort(key=lambda v: (-v.count, v.value))
    return scaled


@dataclass(slots=True)
class _Found:
    facets_found: Facets
    read: int


def _assemble(rows: list[tuple[Any, ...]]) -> _Found:
    result = Facets()
    read = 0
    for facet, value, label, n in rows:
        if facet == "read":
            read = int(n)
        elif facet == "count":
            result.count = int(n)
        elif facet == "author":
            result.facets[facet].append(FacetValue(int(value), label, int(n)))
        elif facet == "genre":
            result.facets[facet].append(FacetValue(value, label, int(n)))
        else:
            result.facets[facet].append(FacetValue(value, _LABELS[facet].get(value, value), int(n)))
    for values in result.facets.values():
        # The author arm's join does not keep its order; every arm is sorted the same way here.
        values.sort(key=lambda v: (-v.count, v.value))
    return _Found(result, read)
