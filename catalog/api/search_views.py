"""Browse helpers beside the books list: facet counts and search-as-you-type (API.md "Catalog additions").

Both are open to anyone. ``/books/facets`` takes the books list's parameters,
validated by the same ``BookFilter``; ``/search/suggest`` takes ``q``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.core.validators import EMPTY_VALUES
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import VIEW, staff_may
from bookstore.schema import AutoSchema
from catalog.api.filters import RANKING_PARAMETERS, BookFilter
from catalog.models import Book
from catalog.search import book_search_tolerant
from catalog.search.facets import FACET_LIMIT, FACETS, PRICE_BANDS, FacetSelection, book_facets
from catalog.search.suggest import MAX_PREFIX_LENGTH, MAX_SUGGESTIONS, search_suggest

#: The books list's parameters that select facet values: each facet's counts ignore its own.
logger = logging.getLogger(__name__)

FACET_PARAMETERS = {
    "genre": "genre",
    "author": "author",
    "language": "language",
    "format": "format",
    "publication_status": "publication_status",
    "min_price": "price",
    "max_price": "price",
}


class FacetValueSerializer(serializers.Serializer[Any]):
    value = serializers.JSONField(
        help_text="What the books list's filter of this facet takes: a genre slug, a code, an author id "
        "(integer) or a price band `low-high`."
    )
    label = serializers.CharField(help_text="The value's name, for display.")  # type: ignore[assignment]  # a field named like Field.label
    count = serializers.IntegerField(help_text="Matching books with this value.")


class FacetsSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="Books matching every parameter given.")
    count_is_estimate = serializers.BooleanField(
        required=False,
        help_text="Present (`true`) when `count` is an estimate: more books match than the sample holds and a "
        "facet filter is chosen, or (PostgreSQL) more than the list counts exactly.",
    )
    counts_are_estimates = serializers.BooleanField(
        required=False,
        help_text="Present (`true`) when the facets' counts are estimates, scaled from a sample of the matches.",
    )
    facets = serializers.DictField(
        child=FacetValueSerializer(many=True),
        help_text=f"Per facet ({', '.join(f'`{name}`' for name in FACETS)}): at most {FACET_LIMIT} values, "
        "largest count first.",
    )


class _ListParametersSchema(AutoSchema):
    """Documents the books list's query parameters (``filterset_class``) on a view that is not a list."""

    def get_filter_backends(self) -> list[Any]:
        return getattr(self.view, "filter_backends", [])


_BANDS = ", ".join(f"`{band.value}` ({band.label})" for band in PRICE_BANDS)


@extend_schema(
    summary="Facet counts for the books list",
    description=(
        "Anyone may read. Takes every parameter of `GET /api/v1/books` (search and filters; `ordering`, `page` "
        "and `page_size` change nothing here) and answers how many of the matching books fall under each value "
        "of each facet: `genre`, `language`, `format`, `author` (credited as author), `publication_status` and "
        "`price` bands.\n\n"
        "Disjunctive: a facet's counts ignore that facet's own filter (`genre=fantasy` still shows how many books "
        "each other genre would give; `min_price`/`max_price` are the `price` facet's filter), every other "
        f"parameter applies. Values with no book are left out; at most {FACET_LIMIT} values per facet, largest "
        f"count first, ties by value. `count` is the number of books matching every parameter.\n\n"
        "Exact and estimated: while at most `CATALOG_FACETS_EXACT_LIMIT` (default 5,000) books match the search "
        "and the filters that are not facets, every count is exact. Beyond that, the facets' counts are those of "
        "a sample of that many matching books (the first by id; for a search with no other filter on PostgreSQL, the "
        "first the search index yields), scaled by the number of matches over the sample, and the "
        "answer adds `counts_are_estimates: true`. `count` is then the number of matches, counted as the list "
        "counts it (exact up to 10,000; beyond, PostgreSQL's estimate) when no facet filter is chosen, else the "
        "sample's count scaled likewise; when it is an estimate the answer adds `count_is_estimate: true`.\n\n"
        f"Price bands (`low-high` holds `low <= price < high`): {_BANDS}. Select one on the list with "
        "`min_price=low&max_price=<high - 0.01>`.\n\n"
        "Staff who may view books count inactive books too, as in the list. Bad parameters are the list's "
        "`400 validation_error`. Answers are cached per set of parameters for `CATALOG_FACETS_CACHE_SECONDS` "
        "(default 60): counts may be that much behind the catalog."
    ),
    responses=FacetsSerializer,
)
class BookFacetsView(GenericAPIView[Book]):
    """``GET /books/facets``: disjunctive facet counts for the books list's parameters, in one query."""

    permission_classes = [AllowAny]
    filter_backends = [DjangoFilterBackend]
    filterset_class = BookFilter
    pagination_class = None
    schema = _ListParametersSchema()

    def get_queryset(self) -> QuerySet[Book]:  # for the schema: the model whose filters are documented
        return Book.objects.none()

    def get(self, request: Request) -> Response:
        include_inactive = staff_may(request.user, Book, VIEW)
        base = Book.objects.all() if include_inactive else Book.objects.filter(is_active=True)
        filterset = BookFilter(data=request.query_params, queryset=base, request=request)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        books = base
        narrowed = False
        for name, value in cleaned.items():
            if name not in FACET_PARAMETERS and name not in RANKING_PARAMETERS:
                books = filterset.filters[name].filter(books, value)
                narrowed = narrowed or value not in EMPTY_VALUES
        sample: QuerySet[Book] | None = None
        counter = None
        if cleaned.get("search"):
            # Searched last, over the filtered books, with the list's typo tolerance: the same books as the list.
            # The list's own request already logged a query finding nothing. With no other filter, PostgreSQL
            # finds the sample's ids and counts the matches in the search index alone (``scope``).
            scope: Literal["active", "all"] | None = None if narrowed else ("all" if include_inactive else "active")
            found = book_search_tolerant(books, cleaned["search"], record_misses=False, scope=scope)
            books = found.queryset
            counter = found.counter
            if found.first_ids is not None:
                sample = base.filter(pk__in=found.first_ids(settings.CATALOG_FACETS_EXACT_LIMIT + 1))
        selection = FacetSelection(
            genres=cleaned.get("genre") or (),
            authors=cleaned.get("author") or (),
            languages=cleaned.get("language") or (),
            formats=cleaned.get("format") or (),
            publication_statuses=cleaned.get("publication_status") or (),
            min_price=cleaned.get("min_price"),
            max_price=cleaned.get("max_price"),
        )
        key = _cache_key(include_inactive=include_inactive, cleaned=cleaned)
        answer = _cache_get(key)
        if answer is None:
            result = book_facets(books=books, selection=selection, sample=sample, counter=counter)
            facets = {
                name: [{"value": v.value, "label": v.label, "count": v.count} for v in values]
                for name, values in result.facets.items()
            }
            answer = {"count": result.count}
            if result.count_is_estimate:
                answer["count_is_estimate"] = True
            if result.counts_are_estimates:
                answer["counts_are_estimates"] = True
            answer["facets"] = facets
            _cache_set(key, answer)
        return Response(answer)


def _cache_key(*, include_inactive: bool, cleaned: dict[str, Any]) -> str:
    """The validated parameters (normalised: case, order of values, spellings of a boolean) and who asks."""
    parameters = sorted((name, repr(value)) for name, value in cleaned.items() if value not in (None, "", []))
    digest = hashlib.sha256(repr((include_inactive, parameters)).encode()).hexdigest()
    return f"catalog:facets:v1:{digest}"


def _cache_get(key: str) -> dict[str, Any] | None:
    if settings.CATALOG_FACETS_CACHE_SECONDS <= 0:
        return None
    try:
        return cache.get(key)
    except Exception:  # an unreachable cache costs the cached answer, never the request
        logger.warning("facets cache unavailable", exc_info=True)
        return None


def _cache_set(key: str, answer: dict[str, Any]) -> None:
    if settings.CATALOG_FACETS_CACHE_SECONDS <= 0:
        return
    try:
        cache.set(key, answer, settings.CATALOG_FACETS_CACHE_SECONDS)
    except Exception:
        logger.warning("facets cache unavailable", exc_info=True)


class SuggestQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        max_length=MAX_PREFIX_LENGTH,
        help_text=f"What has been typed so far (1 to {MAX_PREFIX_LENGTH} characters).",
    )


class SuggestionSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["book", "author", "series"])
    id = serializers.IntegerField(help_text="The book's, author's or series' id.")
    text = serializers.CharField(help_text="The title or name to show.")


class SuggestionsSerializer(serializers.Serializer[Any]):
    suggestions = SuggestionSerializer(many=True)


@extend_schema(
    summary="Search-as-you-type suggestions",
    description=(
        f"Anyone may read. At most {MAX_SUGGESTIONS} active books (by title), authors and series (by name) whose "
        "title or name starts with `q`, ignoring case; spaces in `q` are collapsed. Most popular first (copies "
        "sold in the last 90 days; for an author or a series, over their books), then by name. A title "
        "several editions share is suggested once. `q` missing, blank, holding a NUL character or longer than "
        f"{MAX_PREFIX_LENGTH} characters is `400 validation_error` naming `q`."
    ),
    parameters=[
        OpenApiParameter(
            "q",
            str,
            required=True,
            description=f"What has been typed so far (1 to {MAX_PREFIX_LENGTH} characters).",
        )
    ],
    responses=SuggestionsSerializer,
)
class SearchSuggestView(GenericAPIView[Any]):
    """``GET /search/suggest?q=…``: titles, authors and series by prefix, popular first, in one query."""

    permission_classes = [AllowAny]
    pagination_class = None
    filter_backends: list[Any] = []
    serializer_class = SuggestionsSerializer

    def get(self, request: Request) -> Response:
        query = SuggestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        suggestions = search_suggest(prefix=query.validated_data["q"])
        return Response({"suggestions": [{"kind": s.kind, "id": s.id, "text": s.text} for s in suggestions]})
