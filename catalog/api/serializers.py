"""Catalog API shapes: nested objects on read, ``author_ids``/``genre_ids`` on write."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookstore.limits import MAX_ID
from catalog import covers, selectors
from catalog import isbn as isbn_rules
from catalog.choices import BookFormat, ContributorRole
from catalog.fields import AUTHOR_ROLE, BOOK_FIELD_NAMES, BOOK_FIELDS, Kind
from catalog.models import Author, Book, BookAuthor, Genre, Series
from catalog.services import Credit

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


#: The read representation's book fields: the writable ones, the series number inside ``series``.
BOOK_READ_FIELD_NAMES = tuple(name for name in BOOK_FIELD_NAMES if name != "series_number")


class SeriesSerializer(serializers.ModelSerializer[Series]):
    book_count = serializers.IntegerField(read_only=True, help_text="Number of active books in this series.")

    class Meta:
        model = Series
        fields = ["id", "name", "book_count"]
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}  # unique: the service's rule


class BookAuthorSerializer(serializers.Serializer[BookAuthor]):
    """An author as credited on a book."""

    id = serializers.IntegerField(source="author.id", read_only=True)
    name = serializers.CharField(source="author.name", read_only=True)


class BookContributorSerializer(serializers.Serializer[BookAuthor]):
    """A contributor as credited on a book, with their role."""

    id = serializers.IntegerField(source="author.id", read_only=True)
    name = serializers.CharField(source="author.name", read_only=True)
    role = serializers.ChoiceField(choices=ContributorRole.choices, read_only=True)


class BookSeriesSerializer(serializers.Serializer[Book]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    number = serializers.IntegerField(read_only=True, allow_null=True, help_text="The book's number in the series.")


class OtherFormatSerializer(serializers.Serializer[Book]):
    """Another edition of the same work."""

    id = serializers.IntegerField(read_only=True)
    isbn = serializers.CharField(read_only=True)
    format = serializers.ChoiceField(choices=BookFormat.choices, read_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)


def _authors(book: Book) -> list[dict[str, Any]]:
    return [
        {"id": link.author.pk, "name": link.author.name} for link in book.author_links.all() if link.role == AUTHOR_ROLE
    ]


def _contributors(book: Book) -> list[dict[str, Any]]:
    return [{"id": link.author.pk, "name": link.author.name, "role": link.role} for link in book.author_links.all()]


def _series(book: Book) -> dict[str, Any] | None:
    series = book.series
    return None if series is None else {"id": series.pk, "name": series.name, "number": book.series_number}


def _other_formats(book: Book) -> list[dict[str, Any]]:
    """The other active editions of the book's work (``selectors.book_list`` prefetches them as ``work.editions``)."""
    work = book.work if _WORK.is_cached(book) else None
    editions = getattr(work, "editions", None)
    if editions is None:  # not shaped by the selector: one query
        editions = selectors.book_editions(book=book)
    return [
        {"id": other.pk, "isbn": other.isbn, "format": other.format, "price": _PRICE.to_representation(other.price)}
        for other in editions
        if other.pk != book.pk
    ]


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
    """A book as read: authors and contributors (in cover order), genres, series and other formats nested."""

    authors = serializers.SerializerMethodField(help_text="The contributors with role `author`, in cover order.")
    contributors = serializers.SerializerMethodField(help_text="Every contributor, with their role, in cover order.")
    genres = GenreSerializer(many=True, read_only=True)
    series = serializers.SerializerMethodField(help_text="The series and the book's number in it, or null.")
    other_formats = serializers.SerializerMethodField(help_text="The other editions of the same work.")

    cover = CoverField(
        help_text=(
            "WebP thumbnails 160, 320 and 640 px wide; null when the book has no cover "
            "or while the thumbnails of a new upload are being made."
        )
    )

    class Meta:
        model = Book
        fields = ["id", *BOOK_READ_FIELD_NAMES, "work_id", "other_formats", "cover", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(BookAuthorSerializer(many=True))
    def get_authors(self, book: Book) -> list[dict[str, Any]]:
        return _authors(book)

    @extend_schema_field(BookContributorSerializer(many=True))
    def get_contributors(self, book: Book) -> list[dict[str, Any]]:
        return _contributors(book)

    @extend_schema_field(BookSeriesSerializer(allow_null=True))
    def get_series(self, book: Book) -> dict[str, Any] | None:
        return _series(book)

    @extend_schema_field(OtherFormatSerializer(many=True))
    def get_other_formats(self, book: Book) -> list[dict[str, Any]]:
        return _other_formats(book)

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
                data[name] = _authors(instance)
            elif kind == "contributors":
                data[name] = _contributors(instance)
            elif kind == "genres":
                data[name] = [
                    {"id": genre.pk, "name": genre.name, "slug": genre.slug} for genre in instance.genres.all()
                ]
            elif kind == "series":
                data[name] = _series(instance)
            else:
                value = getattr(instance, name)
                data[name] = render(value) if render is not None and value is not None else value
        data["work_id"] = instance.work_id
        data["other_formats"] = _other_formats(instance)
        data["cover"] = covers.cover_urls(instance, self.context.get("request"))
        data["created_at"] = _DATETIME.to_representation(instance.created_at)
        data["updated_at"] = _DATETIME.to_representation(instance.updated_at)
        return data


_WORK = Book._meta.get_field("work")
# The formatting of BookSerializer's fast path: the field classes ModelSerializer maps the model fields to.
_DATE = serializers.DateField()
_DATETIME = serializers.DateTimeField()
_PRICE = serializers.DecimalField(max_digits=10, decimal_places=2)
#: How each kind of field is rendered on the fast path (``None`` stays ``None``; other kinds are JSON as they are).
_RENDER: dict[Kind, Callable[[Any], Any]] = {"date": _DATE.to_representation, "price": _PRICE.to_representation}
_FAST_FIELDS = tuple(
    (field.name, field.kind, _RENDER.get(field.kind)) for field in BOOK_FIELDS if field.name in BOOK_READ_FIELD_NAMES
)


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


class ContributorWriteSerializer(serializers.Serializer[Any]):
    """One credit as written: an author id and a role."""

    author_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    role = serializers.ChoiceField(choices=ContributorRole.choices, default=ContributorRole.AUTHOR)


class BookWriteSerializer(serializers.ModelSerializer[Book]):
    """A book as written: contributors (or authors), genres and the series by id.

    ``contributors`` and ``author_ids`` each replace every credit of the book;
    a new book needs one of them. ``series_id`` null takes the book out of its series.
    """

    isbn = IsbnField(max_length=32)
    author_ids = serializers.ListField(
        source="authors",
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        min_length=1,
        max_length=MAX_LINKS,
        help_text="Author ids in cover order (role `author`); at least one. Or give `contributors`.",
    )
    # many=True makes a ListSerializer, which takes min_length and max_length (the stubs do not know).
    contributors = ContributorWriteSerializer(  # type: ignore[call-arg]
        many=True,
        required=False,
        min_length=1,
        max_length=MAX_LINKS,
        help_text="Every credit in cover order, each `{author_id, role}`; at least one. Replaces `author_ids`.",
    )
    genre_ids = serializers.ListField(
        source="genres",
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_LINKS,
        help_text="Genre ids.",
    )
    series_id = serializers.IntegerField(
        source="series",
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The series the book is in, or null.",
    )

    class Meta:
        model = Book
        fields = [field.write_name for field in BOOK_FIELDS]
        # Counts and prices are never negative (the database checks it too).
        extra_kwargs = {field.name: {"min_value": 0} for field in BOOK_FIELDS if field.kind in ("count", "price")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new or replaced book names its credits one way or the other: author_ids unless contributors are given.
        # (Only on input: the schema shows the two as alternatives, neither required.)
        data = kwargs.get("data")
        if "data" in kwargs and not self.partial and not (isinstance(data, Mapping) and "contributors" in data):
            self.fields["author_ids"].required = True

    def validate_author_ids(self, ids: list[int]) -> list[Author]:
        return _resolve_ids(Author, ids, "author")

    def validate_genre_ids(self, ids: list[int]) -> list[Genre]:
        return _resolve_ids(Genre, ids, "genre")

    def validate_series_id(self, series_id: int | None) -> Series | None:
        if series_id is None:
            return None
        series = Series.objects.filter(pk=series_id).first()
        if series is None:
            raise serializers.ValidationError(f"Unknown series id: {series_id}.")
        return series

    def validate_contributors(self, credits: list[dict[str, Any]]) -> list[Credit]:
        # A partial update skips the nested defaults: a credit without a role is an author's.
        keys = [(credit["author_id"], credit.get("role", ContributorRole.AUTHOR.value)) for credit in credits]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Each contributor may be credited only once per role.")
        found = Author.objects.in_bulk({author_id for author_id, _ in keys})
        missing = sorted({str(author_id) for author_id, _ in keys if author_id not in found})
        if missing:
            raise serializers.ValidationError(f"Unknown author id(s): {', '.join(missing)}.")
        return [Credit(found[author_id], role) for author_id, role in keys]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "authors" in attrs and "contributors" in attrs:
            raise serializers.ValidationError(
                {"contributors": ["Give either `contributors` or `author_ids`, not both."]}
            )
        return attrs


class CoverUploadSerializer(serializers.Serializer[Any]):
    """A cover upload: one file in the multipart field ``image``."""

    image = serializers.FileField(
        allow_empty_file=False,
        use_url=False,
        help_text="JPEG, PNG or WebP, at most 10 MB and 40 megapixels; checked by its content, not its name.",
    )


class HighlightSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(help_text="The title, HTML-escaped, with the query's words in `<mark>…</mark>`.")
    description = serializers.CharField(
        help_text="At most 200 characters of the description around its first matching word, HTML-escaped, "
        "with the query's words in `<mark>…</mark>` and `…` where text was left out."
    )


class BookListItemSerializer(BookSerializer):
    """A book of the list: the book, plus ``highlight`` when the list is asked for highlights.

    The view puts a ``catalog.search.highlight.Highlighter`` in the context as
    ``highlighter``; it works on the page's books alone, without a query.
    """

    # Not read-only: absent unless asked for, so not a required property of the response.
    highlight = HighlightSerializer(
        required=False, help_text="Only with `highlight=true`: the title and a description snippet, marked."
    )

    class Meta(BookSerializer.Meta):
        fields = [*BookSerializer.Meta.fields, "highlight"]
        read_only_fields = BookSerializer.Meta.fields

    def to_representation(self, instance: Book) -> dict[str, Any]:
        data = super().to_representation(instance)
        highlighter = self.context.get("highlighter")
        if highlighter is not None:
            data["highlight"] = highlighter(instance)
        return data
