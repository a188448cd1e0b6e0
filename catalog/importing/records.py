"""The book file's vocabulary: its columns, formats, and the records and errors reading yields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")

#: Every column, in file order. ``authors`` and ``genres`` hold ';'-separated lists in CSV.
COLUMNS: tuple[str, ...] = (
    "isbn",
    "title",
    "subtitle",
    "description",
    "authors",
    "genres",
    "publisher",
    "published_date",
    "language",
    "page_count",
    "price",
    "stock",
    "is_active",
)
REQUIRED_COLUMNS = frozenset({"isbn", "title", "authors", "price"})
#: Columns that may be left out of a file: new books get the default, existing books keep their value.
OPTIONAL_COLUMNS = frozenset(COLUMNS) - REQUIRED_COLUMNS
LIST_SEPARATOR = ";"


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (bad header, unknown format); no row is looked at."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected record: the file line it starts on and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class BookRow:
    """One valid record, normalised (``isbn`` is the 13-digit form).

    ``present`` names the optional columns the record carries; the others are
    left at their default for a new book and untouched on an existing one.
    """

    line: int
    isbn: str
    title: str
    authors: tuple[str, ...]
    price: Decimal
    present: frozenset[str]
    subtitle: str = ""
    description: str = ""
    genres: tuple[str, ...] = ()
    publisher: str = ""
    published_date: date | None = None
    language: str = "en"
    page_count: int | None = None
    stock: int = 0
    is_active: bool = True


Record = tuple[int, dict[str, Any]]


def check_columns(names: Iterable[str]) -> None:
    """Raise ``ImportFormatError`` for unknown, repeated or missing required columns."""
    names = list(names)
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ImportFormatError(f"unknown column(s): {', '.join(unknown)}; expected some of: {', '.join(COLUMNS)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportFormatError(f"column(s) given twice: {', '.join(repeated)}")
    missing = [name for name in COLUMNS if name in REQUIRED_COLUMNS and name not in names]
    if missing:
        raise ImportFormatError(f"missing required column(s): {', '.join(missing)}")


def format_for_path(path: str) -> Format:
    """The file format from its extension: ``.csv``, or ``.jsonl`` / ``.ndjson``."""
    lowered = path.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ImportFormatError(f"cannot tell the format of {path!r} from its extension; pass --format csv or jsonl")
