"""Catalog API shapes: nested objects on read, ``author_ids``/``genre_ids`` on write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookstore.limits import MAX_ID
from catalog import covers
from catalog import isbn as isbn_rules
from catalog.fields import BOOK_FIELD_NAMES, BOOK_FIELDS, Kind
from catalog.models import Author, Book, BookAuthor, Genre

_M = TypeVar("_M", bound=Model)

#: Most authors or genres one book may list.
MAX_LINKS = 50


class AuthorSerializer(serializers.ModelSerializer[Author]):
    book_count = serializers.IntegerField(read_only=True, help_text="Number of active books crediting this author.")

    class Meta:
        model = Author
        fields = ["id", "name", "bio", "book_count"]


class GenreSerializer(serializers.ModelSerializer[Genre]):
    class Meta:
        model = Genre
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class GenreWriteSerializer(serializers.ModelSerializer[Genre]):
    class Meta:
        model = Genre
        fields = ["id", "name", "slug"]
        extra_kwargs = {
            "slug": {
                "required": False,
                "validators": [],  # uniqueness is the service's rule (GenreSlugTaken)
                "help_text": "Unique. Derived from the name when omitted on creation; kept on rename.",
            }
        }


class BookAuthorSerializer(serializers.Serializer[BookAuthor]):
    """An author as credited on a book."""

    id = serializers.IntegerField(source="author.id", read_only=True)
    name = serializers.CharField(source="author.name", read_only=True)


class CoverSerializer(serializers.Serializer[dict[str, str]]):
    """A book's cover thumbnails (WebP), absolute URLs."""

    small = serializers.URLField(read_only=True, help_text="160 px wide.")
    medium = serializers.URLField(read_only=True, help_text="320 px wide.")
    large = serializers.URLField(read_only=True, help_text="640 px wide.")


@extend_schema_field(CoverSerializer(allow_null=True))
class CoverField(serializers.Field):
    """The book's cover thumbnail URLs; null without a cover or while its thumbnails are being made."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Book) -> dict[str, str] | None:
        return covers.cover_urls(value, self.context.get("request"))


class BookSerializer(serializers.ModelSerializer[Book]):
    """A book as read: authors (in cover order) and genres nested."""

    authors = BookAuthorSerializer(source="author_links", many=True, read_only=True)
    genres = GenreSerializer(many=True, read_only=True)
    cover = CoverField(
        help_text=(
            "WebP thumbnails 160, 320 and 640 px wide; null when the book has no cover "
            "or while the thumbnails of a new upload are being made."
        )
    )

    class Meta:
        model = Book
        fields = ["id", *BOOK_FIELD_NAMES, "cover", "created_at", "updated_at"]
        read_only_fields = fields

    def to_representation(self, instance: Book) -> dict[str, Any]:
        """The fields above, written out for the hot read path.

        DRF's generic loop (per-field attribute lookups, nested serializers per
        book) cost more than the queries on a list page. Values go through the
        same DRF field classes, so the output is identical to the generic
        rendering (a test compares them).
        """
        data: dict[str, Any] = {"id": instance.pk}
        for name, kind, render in _FAST_FIELDS:
            if kind == "authors":
                data[name] = [{"id": link.author.pk, "name": link.author.name} for link in instance.author_links.all()]
            elif kind == "genres":
                data[name] = [
                    {"id": genre.pk, "name": genre.name, "slug": genre.slug} for genre in instance.genres.all()
                ]
            else:
                value = getattr(instance, name)
                data[name] = render(value) if render is not None and value is not None else value
        data["cover"] = covers.cover_urls(instance, self.context.get("request"))
        data["created_at"] = _DATETIME.to_representation(instance.created_at)
        data["updated_at"] = _DATETIME.to_representation(instance.updated_at)
        return data


# The formatting of BookSerializer's fast path: the field classes ModelSerializer maps the model fields to.
_DATE = serializers.DateField()
_DATETIME = serializers.DateTimeField()
_PRICE = serializers.DecimalField(max_digits=10, decimal_places=2)
#: How each kind of field is rendered on the fast path (``None`` stays ``None``; other kinds are JSON as they are).
_RENDER: dict[Kind, Callable[[Any], Any]] = {"date": _DATE.to_representation, "price": _PRICE.to_representation}
_FAST_FIELDS = tuple((field.name, field.kind, _RENDER.get(field.kind)) for field in BOOK_FIELDS)


@extend_schema_field(
    {
        "type": "string",
        "example": "978-0-441-01359-3",
        "description": "ISBN-10 or ISBN-13, with or without hyphens or spaces; checked by its check digit.",
    }
)
class IsbnField(serializers.CharField):
    """Any accepted ISBN spelling in, the 13-digit form out."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return isbn_rules.to_isbn13(value)
        except isbn_rules.InvalidIsbn as exc:
            raise serializers.ValidationError(str(exc)) from exc


def _resolve_ids(model: type[_M], ids: Sequence[int], noun: str) -> list[_M]:
    """The objects of ``ids`` in the given order, in one query; unknown or repeated ids are a 400."""
    if len(set(ids)) != len(ids):
        raise serializers.ValidationError(f"Each {noun} may be listed only once.")
    found = model._default_manager.in_bulk(ids)
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise serializers.ValidationError(f"Unknown {noun} id(s): {', '.join(missing)}.")
    return [found[pk] for pk in ids]


class BookWriteSerializer(serializers.ModelSerializer[Book]):
    """A book as written: authors and genres by id."""

    isbn = IsbnField(max_length=32)
    author_ids = serializers.ListField(
        source="authors",
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_LINKS,
        help_text="Author ids in cover order; at least one.",
    )
    genre_ids = serializers.ListField(
        source="genres",
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_LINKS,
        help_text="Genre ids.",
    )

    class Meta:
        model = Book
        fields = [field.write_name for field in BOOK_FIELDS]
        # Counts and prices are never negative (the database checks it too).
        extra_kwargs = {field.name: {"min_value": 0} for field in BOOK_FIELDS if field.kind in ("count", "price")}

    def validate_author_ids(self, ids: list[int]) -> list[Author]:
        return _resolve_ids(Author, ids, "author")

    def validate_genre_ids(self, ids: list[int]) -> list[Genre]:
        return _resolve_ids(Genre, ids, "genre")


class CoverUploadSerializer(serializers.Serializer[Any]):
    """A cover upload: one file in the multipart field ``image``."""

    image = serializers.FileField(
        allow_empty_file=False,
        use_url=False,
        help_text="JPEG, PNG or WebP, at most 10 MB and 40 megapixels; checked by its content, not its name.",
    )
