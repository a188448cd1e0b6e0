"""Catalog endpoints: authors, genres and books (API.md "Catalog").

Anyone may read; staff write. Views validate with a serializer, call one
service or selector, and serialize the result.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.permissions import IsStaffOrReadOnly, is_staff
from catalog import selectors, services
from catalog.api.filters import AuthorFilter, BookFilter, GenreFilter
from catalog.api.serializers import (
    AuthorSerializer,
    BookSerializer,
    BookWriteSerializer,
    GenreSerializer,
    GenreWriteSerializer,
)
from catalog.models import Author, Book, Genre

_WRITE_ACTIONS = {"create", "update", "partial_update"}


@extend_schema_view(
    destroy=extend_schema(
        responses={204: None, 409: OpenApiResponse(description="`conflict`: the author is still credited on books.")}
    )
)
class AuthorViewSet(viewsets.ModelViewSet[Author]):
    """Authors with the number of their active books."""

    serializer_class = AuthorSerializer
    permission_classes = [IsStaffOrReadOnly]
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
    create=extend_schema(request=GenreWriteSerializer, responses={201: GenreSerializer}),
    update=extend_schema(request=GenreWriteSerializer, responses=GenreSerializer),
    partial_update=extend_schema(request=GenreWriteSerializer, responses=GenreSerializer),
    destroy=extend_schema(
        responses={204: None, 409: OpenApiResponse(description="`conflict`: books are still in the genre.")}
    ),
)
class GenreViewSet(viewsets.ModelViewSet[Genre]):
    """Genres; the slug is derived from the name when omitted."""

    serializer_class = GenreSerializer
    permission_classes = [IsStaffOrReadOnly]
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
    create=extend_schema(request=BookWriteSerializer, responses={201: BookSerializer}),
    update=extend_schema(request=BookWriteSerializer, responses=BookSerializer),
    partial_update=extend_schema(request=BookWriteSerializer, responses=BookSerializer),
    destroy=extend_schema(
        description="Deletes a book that was never ordered; a book that appears in an order is deactivated instead.",
        responses={204: None},
    ),
)
class BookViewSet(viewsets.ModelViewSet[Book]):
    """Books. Anonymous users and customers see active books only; staff see all."""

    serializer_class = BookSerializer
    permission_classes = [IsStaffOrReadOnly]
    filter_backends = [DjangoFilterBackend]
    filterset_class = BookFilter

    def get_queryset(self) -> QuerySet[Book]:
        return selectors.book_list(include_inactive=is_staff(self.request))

    def filter_queryset(self, queryset: QuerySet[Book, Any]) -> QuerySet[Book, Any]:
        # The list's query parameters mean nothing to one book; building the
        # filterset (forms, 184 language choices) was half of a detail request.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _read(self, book: Book) -> dict[str, Any]:
        return BookSerializer(selectors.book_get(book_id=book.pk, include_inactive=True)).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = BookWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        book = services.book_create(**serializer.validated_data)
        return Response(self._read(book), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        book = self.get_object()
        serializer = BookWriteSerializer(book, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        book = services.book_update(book=book, **serializer.validated_data)
        return Response(self._read(book))

    def perform_destroy(self, instance: Book) -> None:
        services.book_delete(book=instance)
