"""Search-as-you-type: titles, authors and series whose name starts with what was typed, popular first.

``search_suggest(prefix=...)`` answers at most ``MAX_SUGGESTIONS``
suggestions. A name matches when it starts with the prefix, ignoring case
(``har`` → "Harry Potter…", "Harper Lee"); spaces inside the prefix are
collapsed. Popularity is ``recent_sales``: a book's copies sold in the last
90 days, an author's or a series' the sum over their books (refreshed daily
by the orders job that calls ``catalog.services.book_recent_sales_update``).
Order: most popular first, then by name, then kind (book, author, series)
and id. A title shared by several editions is suggested once, for its most
popular edition. Only active books are suggested.

Cost: one query of six ``LIMIT``-ed index range scans (migration 0009), for
each kind: the sold rows matching the prefix (a partial index of rows with
``recent_sales > 0``, a small part of the catalog), then the first matching
names in order (an index on the lower-cased name, ``COLLATE "C"`` on
PostgreSQL so ranges and order follow code points as on SQLite). Neither
scan reads more than the prefix's sold rows plus ``limit`` rows, however
many names start with the prefix.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from django.db import connections
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Collate, Lower

from catalog.models import Author, Book, Series

__all__ = ["MAX_PREFIX_LENGTH", "MAX_SUGGESTIONS", "Suggestion", "normalise_prefix", "search_suggest"]

#: At most this many suggestions.
MAX_SUGGESTIONS = 10
#: A longer prefix is refused by the API (no title or name index entry is this long anyway).
MAX_PREFIX_LENGTH = 100
# Past any character a name can hold: ``prefix <= name < prefix + _TOP`` is "name starts with prefix".
_TOP = "\U0010ffff"

Kind = Literal["book", "author", "series"]
_KIND_ORDER = {"book": 0, "author": 1, "series": 2}


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: Kind
    id: int
    text: str
    popularity: int


def normalise_prefix(text: str) -> str:
    """What a prefix is matched as: NFKC, lower case, single spaces, no NUL, no leading or trailing space."""
    return " ".join(unicodedata.normalize("NFKC", text.replace("\x00", " ")).lower().split())


def _key(column: str, vendor: str) -> Any:
    # The expression the indexes of migration 0009 hold, per database.
    return Collate(Lower(column), "C") if vendor == "postgresql" else Lower(column)


def _arms(queryset: QuerySet[Any], column: str, kind: Kind, prefix: str, vendor: str, limit: int) -> list[Any]:
    """The sold rows matching the prefix (most sold first), and the first matching rows by name."""
    matching = (
        queryset.annotate(key=_key(column, vendor))
        .filter(key__gte=prefix, key__lt=prefix + _TOP)
        .values_list(Value(kind, output_field=CharField()), "pk", F(column), "recent_sales")
    )
    return [
        matching.filter(recent_sales__gt=0).order_by("-recent_sales", "key", "pk")[:limit],
        matching.order_by("key", "pk")[:limit],
    ]


def search_suggest(*, prefix: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """At most ``limit`` books, authors and series whose name starts with ``prefix``, most popular first.

    One query. ``prefix`` is normalised with ``normalise_prefix``; an empty one suggests nothing.
    """
    prefix = normalise_prefix(prefix)[:MAX_PREFIX_LENGTH]
    if not prefix:
        return []
    using = Book.objects.db
    connection = connections[using]
    vendor = connection.vendor
    # A few more books than asked: editions sharing a title collapse into one.
    arms = [
        *_arms(Book.objects.filter(is_active=True), "title", "book", prefix, vendor, limit * 2),
        *_arms(Author.objects.all(), "name", "author", prefix, vendor, limit),
        *_arms(Series.objects.all(), "name", "series", prefix, vendor, limit),
    ]
    parts, params = [], []
    for i, arm in enumerate(arms):
        sql, arm_params = arm.query.get_compiler(using=using).as_sql()
        parts.append(f"SELECT * FROM ({sql}) AS arm_{i}")  # noqa: S608 (ORM SQL)
        params += arm_params
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    return _rank(rows, limit)


def _rank(rows: list[tuple[Any, ...]], limit: int) -> list[Suggestion]:
    best: dict[tuple[str, Any], Suggestion] = {}
    for kind, pk, text, popularity in rows:
        suggestion = Suggestion(kind=kind, id=int(pk), text=text, popularity=int(popularity))
        # Editions of one title are one suggestion; a row seen in both arms of its kind is one row.
        key: tuple[str, Any] = (kind, text.casefold()) if kind == "book" else (kind, suggestion.id)
        kept = best.get(key)
        if kept is None or (suggestion.popularity, -suggestion.id) > (kept.popularity, -kept.id):
            best[key] = suggestion
    ranked = sorted(best.values(), key=lambda s: (-s.popularity, s.text.lower(), _KIND_ORDER[s.kind], s.id))
    return ranked[:limit]
