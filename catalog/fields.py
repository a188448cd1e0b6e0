"""The writable fields of a book, declared once.

The API serializers, the admin form, the services, the file importer and
exporter, the bulk upsert and the demo store all read this declaration, so a
new writable field is added here (and on the model, with its migration) and
nowhere else. Pure module: no models, so the importer stays usable without
Django being set up; ``tests/catalog/test_fields.py`` checks it against the model.

A field's ``kind`` says how it is read from a file, checked and written out;
the kinds are few and each layer knows them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from catalog.choices import BookFormat, ContributorRole, PublicationStatus

Kind = Literal[
    "isbn",
    "text",
    "authors",
    "contributors",
    "genres",
    "series",
    "date",
    "language",
    "choice",
    "count",
    "price",
    "flag",
]

#: Kinds that are links to other rows (credits in cover order, genres by slug, the series by name), not columns.
LINK_KINDS: frozenset[Kind] = frozenset({"authors", "contributors", "genres", "series"})


class Credit(NamedTuple):
    """One contributor credit as files and rows carry it: the person's name and their role."""

    name: str
    role: str


#: The role of the names in the ``authors`` field.
AUTHOR_ROLE: str = ContributorRole.AUTHOR.value


@dataclass(frozen=True, slots=True)
class BookField:
    """One writable book field.

    ``required``: a file row and a new book must give it (the others fall back to ``default``).
    ``max_length``: for text, the longest value; for links, the longest name or slug.
    ``indexed``: the text is in the full-text search index (a change re-indexes the book).
    ``api_name``: the name the API writes it under (links are written by id).
    """

    name: str
    kind: Kind
    required: bool = False
    default: Any = None
    max_length: int | None = None
    indexed: bool = False
    api_name: str = ""
    choices: tuple[str, ...] = ()

    @property
    def is_link(self) -> bool:
        return self.kind in LINK_KINDS

    @property
    def write_name(self) -> str:
        return self.api_name or self.name


#: Every writable field, in the order of the API's book object and of the file columns.
BOOK_FIELDS: tuple[BookField, ...] = (
    BookField("isbn", "isbn", required=True),
    BookField("title", "text", required=True, default="", max_length=500, indexed=True),
    BookField("subtitle", "text", default="", max_length=500, indexed=True),
    BookField("description", "text", default="", indexed=True),
    BookField("authors", "authors", required=True, default=(), max_length=255, api_name="author_ids"),
    BookField("genres", "genres", default=(), max_length=100, api_name="genre_ids"),
    BookField("publisher", "text", default="", max_length=255, indexed=True),
    BookField("published_date", "date"),
    BookField("language", "language", default="en"),
    BookField("page_count", "count"),
    BookField("price", "price", required=True),
    BookField("stock", "count", default=0),
    BookField("is_active", "flag", default=True),
    # Credits in every role, in cover order; when given they replace the credits ``authors`` would make.
    BookField("contributors", "contributors", default=(), max_length=255),
    BookField("format", "choice", default=BookFormat.OTHER.value, choices=tuple(BookFormat.values)),
    BookField("series", "series", default=None, max_length=255, api_name="series_id"),
    BookField("series_number", "count"),
    BookField(
        "publication_status",
        "choice",
        default=PublicationStatus.ACTIVE.value,
        choices=tuple(PublicationStatus.values),
    ),
    BookField("release_date", "date"),
    BookField("preorder_allowance", "count", default=0),
)

#: Every contributor role, in the order of ``ContributorRole``.
CONTRIBUTOR_ROLES: tuple[str, ...] = tuple(ContributorRole.values)

BOOK_FIELDS_BY_NAME: dict[str, BookField] = {field.name: field for field in BOOK_FIELDS}
#: Every writable field's name, in order (the file columns).
BOOK_FIELD_NAMES: tuple[str, ...] = tuple(BOOK_FIELDS_BY_NAME)
#: The writable columns of the ``books`` table (the fields that are not links), in order.
BOOK_COLUMN_FIELDS: tuple[str, ...] = tuple(field.name for field in BOOK_FIELDS if not field.is_link)
REQUIRED_FIELDS: frozenset[str] = frozenset(field.name for field in BOOK_FIELDS if field.required)
OPTIONAL_FIELDS: frozenset[str] = frozenset(BOOK_FIELD_NAMES) - REQUIRED_FIELDS
#: Fields whose text is in the search index (with the author names).
INDEXED_FIELDS: frozenset[str] = frozenset(field.name for field in BOOK_FIELDS if field.indexed)


def book_values(*, given: dict[str, Any], names: tuple[str, ...] = BOOK_FIELD_NAMES) -> dict[str, Any]:
    """``given`` completed with the declared defaults of ``names``; unknown or missing required fields raise ``TypeError``.

    For callers that take the fields as keyword arguments (``book_create``, ``BookRow``).
    """
    unknown = given.keys() - set(names)
    if unknown:
        raise TypeError(f"unknown book field(s): {', '.join(sorted(unknown))}")
    missing = [name for name in names if name in REQUIRED_FIELDS and name not in given]
    if missing:
        raise TypeError(f"missing required book field(s): {', '.join(missing)}")
    return {name: given[name] if name in given else BOOK_FIELDS_BY_NAME[name].default for name in names}
