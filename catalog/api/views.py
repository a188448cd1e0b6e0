"""Catalog endpoints: authors, genres, series and books, back-in-stock notices (API.md "Catalog").

Anyone may read; staff with the model's add/change/delete permission write. Views validate with a serializer, call one
service or selector, and serialize the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import orjson
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.access import CHANGE, VIEW, perm_name, staff_may
from accounts.api.mixins import CreatedLocationMixin
from accounts.permissions import StaffModelPermissionOrReadOnly, StaffPermission
from bookstore.pagination import PageNumberPagination
from bookstore.parsers import MultiPartParser
from bookstore.renderers import json_bytes
from catalog import covers, readcache, selectors, services
from catalog.api.caching import BookCacheMixin, CatalogHttpCachingMixin, book_documents, cached_books_view
from catalog.api.filters import AuthorFilter, BookFilter, GenreFilter, SeriesFilter, StrictBooleanField
from catalog.api.serializers import (
    AuthorSerializer,
    BookListItemSerializer,
    BookSerializer,
    BookWriteSerializer,
    CoverUploadSerializer,
    GenreSerializer,
    GenreWriteSerializer,
    SeriesSerializer,
)
from catalog.models import Author, Book, Genre, Series
from catalog.search.highlight import Highlighter

_WRITE_ACTIONS = {"create", "update", "partial_update"}


class _CoverPermission(StaffPermission):
    """Uploading or removing a cover changes the book: staff holding ``catalog.change_book``."""

    def __init__(self) -> None:
        super().__init__(perm_name(Book, CHANGE))


@extend_schema_view(
    list=extend_schema(
        summary="List authors",
        description=(
            "Anyone may read. Authors in name order, each with `book_count`, the number of their active books; "
            "`search` matches any part of the name, ignoring case."
        ),
    ),
    create=extend_schema(
        summary="Create an author",
        description="Staff only. `name` is required, `bio` optional. The new author's URL is in `Location`.",
    ),
    retrieve=extend_schema(
        summary="One author", description="Anyone may read. `book_count` counts the author's active books."
    ),
    update=extend_schema(summary="Replace an author", description="Staff only. Send every field (`name`, `bio`)."),
    partial_update=extend_schema(summary="Change an author", description="Staff only. Send only the fields to change."),
    destroy=extend_schema(
        summary="Delete an author",
        description=(
            "Staff only. An author still credited on a book is `409 conflict` and nothing changes: "
            "take them off their books first."
        ),
        responses={204: None, 409: OpenApiResponse(description="`conflict`: the author is still credited on books.")},
    ),
)
class AuthorViewSet(CatalogHttpCachingMixin, CreatedLocationMixin, viewsets.ModelViewSet[Author]):
    """Authors with the number of their active books."""

    serializer_class = AuthorSerializer
    permission_classes = [StaffModelPermissionOrReadOnly]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuthorFilter

    def get_queryset(self) -> QuerySet[Author]:
        return selectors.author_list()

    def perform_create(self, serializer: BaseSerializer[Author]) -> None:
        author = services.author_create(**serializer.validated_data)
        serializer.instance = selectors.author_get(author_id=author.pk)

    def perform_update(self, serializer: BaseSerializer[Author]) -> None:
        assert serializer.instance is not None
        author = services.author_update(author=serializer.instance, **serializer.validated_data)
        serializer.instance = selectors.author_get(author_id=author.pk)

    def perform_destroy(self, instance: Author) -> None:
        services.author_delete(author=instance)


@extend_schema_view(
    list=extend_schema(
        summary="List genres",
        description="Anyone may read. Genres in name order; the `slug` is what the books list's `genre` filter takes.",
    ),
    create=extend_schema(
        summary="Create a genre",
        description=(
            "Staff only. `slug` is derived from the name when omitted, and is unique. "
            "The new genre's URL is in `Location`."
        ),
        request=GenreWriteSerializer,
        responses={201: GenreSerializer},
    ),
    retrieve=extend_schema(summary="One genre", description="Anyone may read."),
    update=extend_schema(
        summary="Replace a genre",
        description="Staff only. Send every field; `slug` is derived from the name when omitted.",
        request=GenreWriteSerializer,
        responses=GenreSerializer,
    ),
    partial_update=extend_schema(
        summary="Change a genre",
        description="Staff only. Send only the fields to change.",
        request=GenreWriteSerializer,
        responses=GenreSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a genre",
        description="Staff only. Answers `204` once the genre is gone; `409` while books are still in it.",
        responses={204: None, 409: OpenApiResponse(description="`conflict`: books are still in the genre.")},
    ),
)
class GenreViewSet(CatalogHttpCachingMixin, CreatedLocationMixin, viewsets.ModelViewSet[Genre]):
    """Genres; the slug is derived from the name when omitted."""

    serializer_class = GenreSerializer
    permission_classes = [StaffModelPermissionOrReadOnly]
    filter_backends = [DjangoFilterBackend]
    filterset_class = GenreFilter

    def get_queryset(self) -> QuerySet[Genre]:
        return selectors.genre_list()

    def get_serializer_class(self) -> type[BaseSerializer[Genre]]:
        return GenreWriteSerializer if self.action in _WRITE_ACTIONS else GenreSerializer

    def perform_create(self, serializer: BaseSerializer[Genre]) -> None:
        serializer.instance = services.genre_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Genre]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.genre_update(genre=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Genre) -> None:
        services.genre_delete(genre=instance)


@extend_schema_view(
    list=extend_schema(
        summary="List series",
        description=(
            "Anyone may read. Series in name order, each with `book_count`, the number of its active books; "
            "`search` matches any part of the name, ignoring case. The books of one series, in order: "
            "`/api/v1/books?series=ID&ordering=series_number`."
        ),
    ),
    create=extend_schema(
        summary="Create a series",
        description="Staff only. `name` is required and unique. The new series' URL is in `Location`.",
    ),
    retrieve=extend_schema(summary="One series", description="Anyone may read."),
    update=extend_schema(summary="Replace a series", description="Staff only. Send every field (`name`)."),
    partial_update=extend_schema(summary="Rename a series", description="Staff only."),
    destroy=extend_schema(
        summary="Delete a series",
        description="Staff only. `409` while books are still in the series.",
        responses={204: None, 409: OpenApiResponse(description="`conflict`: books are still in the series.")},
    ),
)
class SeriesViewSet(CatalogHttpCachingMixin, CreatedLocationMixin, viewsets.ModelViewSet[Series]):
    """Series with the number of their active books."""

    serializer_class = SeriesSerializer
    permission_classes = [StaffModelPermissionOrReadOnly]
    filter_backends = [DjangoFilterBackend]
    filterset_class = SeriesFilter

    def get_queryset(self) -> QuerySet[Series]:
        return selectors.series_list()

    def perform_create(self, serializer: BaseSerializer[Series]) -> None:
        series = services.series_create(**serializer.validated_data)
        serializer.instance = selectors.series_get(series_id=series.pk)

    def perform_update(self, serializer: BaseSerializer[Series]) -> None:
        assert serializer.instance is not None
        series = services.series_update(series=serializer.instance, **serializer.validated_data)
        serializer.instance = selectors.series_get(series_id=series.pk)

    def perform_destroy(self, instance: Series) -> None:
        services.series_delete(series=instance)


def _highlighted(item: dict[str, Any], highlighter: Highlighter) -> dict[str, Any]:
    item["highlight"] = highlighter(SimpleNamespace(title=item["title"], description=item["description"]))
    return item


class BookPagination(PageNumberPagination):
    """The books list's pages: beside ``count``, a search corrected for typos says ``did_you_mean``."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        properties = response["properties"]
        position = list(properties).index("count") + 2  # after count and count_is_estimate
        items = list(properties.items())
        did_you_mean = {
            "type": "string",
            "description": "Present when `search` found (almost) nothing as typed and typo tolerance found more: "
            "the corrected query. Books matching the query as typed still come first.",
            "example": "tom sawyer",
        }
        response["properties"] = dict([*items[:position], ("did_you_mean", did_you_mean), *items[position:]])
        return response


@extend_schema_view(
    list=extend_schema(
        summary="List and search books",
        description=(
            "Anyone may read: anonymous callers and customers see active books, staff see inactive ones too. "
            "Every filter given must hold.\n\n"
            "`search` is full-text over title, subtitle, author names, description and publisher: every word must "
            'match, `"a quoted phrase"` matches its words in that order (stop words included), `-word` and '
            '`-"a phrase"` exclude; English stemming (`running` finds `run`), case- and accent-insensitive. '
            "An ISBN in any accepted form finds that book. Without `ordering`, results come best first: "
            "a quoted phrase in the title, then a match in the title, then in the author names, then elsewhere."
            "\n\n`highlight=true` adds `highlight` to each result: the title and a description snippet (at most "
            "200 characters around the first match), HTML-escaped, with the words of `search` in `<mark>…</mark>` "
            "(the last word also as a prefix). Facet counts for the same parameters: `GET /api/v1/books/facets`."
        ),
    ),
    create=extend_schema(
        summary="Create a book",
        description=(
            "Staff only. Takes `author_ids` (at least one) and `genre_ids` instead of the nested objects. `isbn` "
            "accepts ISBN-10 or ISBN-13 with or without hyphens or spaces; it is checked, stored as 13 digits, and "
            "unique. The new book's URL is in `Location`."
        ),
        request=BookWriteSerializer,
        responses={201: BookSerializer},
    ),
    retrieve=extend_schema(
        summary="One book",
        description="Anyone may read an active book; an inactive one is `404` to everyone but staff.",
    ),
    update=extend_schema(
        summary="Replace a book",
        description="Staff only. The body of a new book: every required field, `author_ids` and `genre_ids` as ids.",
        request=BookWriteSerializer,
        responses=BookSerializer,
    ),
    partial_update=extend_schema(
        summary="Change a book",
        description="Staff only. Send only the fields to change; `author_ids` or `genre_ids` replace the whole list.",
        request=BookWriteSerializer,
        responses=BookSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a book",
        description=(
            "Staff only. Deletes a book that was never ordered; a book that appears in an order is deactivated "
            "instead, so order history stays whole. Both answer `204`."
        ),
        responses={204: None},
    ),
)
class BookViewSet(BookCacheMixin, CatalogHttpCachingMixin, CreatedLocationMixin, viewsets.ModelViewSet[Book]):  # type: ignore[misc]  # list/retrieve: BookCacheMixin keeps DRF's signatures
    """Books. Anonymous users and customers see active books only; staff who may view books see all.

    The list (without ``search``) and the detail of the public catalog come from stored documents
    (``catalog.api.caching``); a search's page for the public catalog is made of its books' stored details.
    """

    serializer_class = BookSerializer
    pagination_class = BookPagination
    #: Set by ``filter_queryset`` when the page will hold book ids, each served as its stored detail.
    page_of_ids = False
    permission_classes = [StaffModelPermissionOrReadOnly]
    filter_backends = [DjangoFilterBackend]
    filterset_class = BookFilter

    @classmethod
    def as_view(cls, actions: dict[str, Any] | None = None, **initkwargs: Any) -> Any:
        return cached_books_view(super().as_view(actions, **initkwargs), actions or {})

    def _public(self) -> bool:
        return not staff_may(self.request.user, Book, VIEW)

    def get_queryset(self) -> QuerySet[Book]:
        include_inactive = staff_may(self.request.user, Book, VIEW)
        if self.action == "notify":  # the book itself, without what its representation needs
            return Book.objects.all() if include_inactive else Book.objects.filter(is_active=True)
        return selectors.book_list(include_inactive=include_inactive)

    def get_serializer_class(self) -> type[BaseSerializer[Book]]:
        return BookListItemSerializer if self.action == "list" else BookSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.action == "list" and StrictBooleanField(required=False).clean(
            self.request.query_params.get("highlight")
        ):
            # Validated by the filterset before the page is serialized; marks the page's books, no query.
            context["highlighter"] = Highlighter(self.request.query_params.get("search", ""))
        return context

    def filter_queryset(self, queryset: QuerySet[Book, Any]) -> QuerySet[Book, Any]:
        # The list's query parameters mean nothing to one book; building the
        # filterset (forms, 184 language choices) was half of a detail request.
        if self.action != "list":
            return queryset
        backend = DjangoFilterBackend()
        filterset = backend.get_filterset(self.request, queryset, self)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        queryset = filterset.qs
        results = getattr(filterset, "search_results", None)
        if results is not None:
            # The paginator fetches the page through the search (a bounded ranking) and shows did_you_mean.
            self.page_slicer = results.page
            if self._search_from_documents():
                self.page_slicer = results.page_ids
                self.page_of_ids = True
            self.list_counter = results.counter
            if results.did_you_mean:
                self.list_extra = {"did_you_mean": results.did_you_mean}
        return queryset

    def _search_from_documents(self) -> bool:
        """A search of the public catalog: its page is made of the books' stored details."""
        return (
            self.action == "list" and "search" in self.request.query_params and readcache.enabled() and self._public()
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not self._search_from_documents():
            return cast(Response, super().list(request, *args, **kwargs))
        # The search gives the page's book ids (the paginator fetches them through ``page_slicer``); each book is
        # its stored detail, the same representation as a list item, rendered and stored on a miss.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the books list is always paginated
        if not self.page_of_ids:  # the search held no word at all (``?search=``): a plain page of books
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        bodies = book_documents(request._request, [*page], self._render_details)
        highlighter = self.get_serializer_context().get("highlighter")
        items: list[Any]
        if highlighter is None:
            items = [orjson.Fragment(body) for body in bodies]
        else:
            items = [_highlighted(orjson.loads(body), highlighter) for body in bodies]
        return self.get_paginated_response(items)

    def _render_details(self, book_ids: Sequence[int]) -> dict[int, bytes]:
        context = self.get_serializer_context()
        books = selectors.book_list(include_inactive=False).filter(pk__in=book_ids)
        return {book.pk: json_bytes(BookSerializer(book, context=context).data) for book in books}

    def _read(self, book: Book) -> dict[str, Any]:
        book = selectors.book_get(book_id=book.pk, include_inactive=True)
        return BookSerializer(book, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = BookWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        book = services.book_create(by=request.user, **serializer.validated_data)
        data = self._read(book)
        return Response(data, status=status.HTTP_201_CREATED, headers=self.get_success_headers(data))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        book = self.get_object()
        serializer = BookWriteSerializer(book, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        book = services.book_update(book=book, by=request.user, **serializer.validated_data)
        return Response(self._read(book))

    def perform_destroy(self, instance: Book) -> None:
        services.book_delete(book=instance)

    @extend_schema(
        methods=["POST"],
        summary="Tell me when it is back",
        description=(
            "Any signed-in user. Subscribes the caller to one email when this out-of-stock book is back in stock "
            "(by any path: a delivery, an import, a cancelled order). Subscribing again while waiting changes "
            "nothing. A book in stock is `409 conflict`."
        ),
        request=None,
        responses={204: None, 409: OpenApiResponse(description="`conflict`: the book is in stock.")},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Stop waiting for a book",
        description="Any signed-in user. Drops the caller's back-in-stock subscription to this book, if any.",
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["post", "delete"], permission_classes=[IsAuthenticated])
    def notify(self, request: Request, pk: str | None = None) -> Response:
        book = self.get_object()
        if request.method == "DELETE":
            services.stock_unsubscribe(book=book, user=request.user)
        else:
            services.stock_subscribe(book=book, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["PUT"],
        summary="Upload a book's cover",
        description=(
            "Staff who may change books. A multipart body with one file in the field `image`: a JPEG, PNG or WebP "
            "image of at most 10 MB and 40 megapixels, neither side more than 4 times the other. The file is "
            "checked by its content (not its name or content type), decoded in full and stored re-encoded without "
            "any metadata (EXIF orientation applied); a file with data after the image's end, a decompression bomb "
            "or anything else is `400 validation_error` naming `image`, and nothing is stored. A body over 11 MB "
            "is `413`. Replaces any earlier cover. Answers `202` with the book: its `cover` stays `null` until the "
            "160, 320 and 640 px wide WebP thumbnails have been made in the background, usually within seconds."
        ),
        request={"multipart/form-data": CoverUploadSerializer},
        responses={
            202: BookSerializer,
            400: OpenApiResponse(description="`validation_error`: `image` is missing or not an acceptable image."),
            413: OpenApiResponse(description="`payload_too_large`: the body is over 11 MB."),
            415: OpenApiResponse(description="`unsupported_media_type`: send `multipart/form-data`."),
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a book's cover",
        description="Staff who may change books. Answers `204`, also when the book had no cover.",
        request=None,
        responses={204: None},
    )
    @action(
        detail=True,
        methods=["put", "delete"],
        url_path="cover",
        parser_classes=[MultiPartParser],
        permission_classes=[_CoverPermission],
    )
    def cover(self, request: Request, pk: str | None = None) -> Response:
        book = self.get_object()
        if request.method == "DELETE":
            covers.cover_delete(book=book)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = CoverUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["image"]
        covers.cover_set(book=book, upload=upload, size=upload.size)
        return Response(self._read(book), status=status.HTTP_202_ACCEPTED)
