"""The book file's vocabulary: its columns, formats, and the records and errors reading yields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from catalog.fields import BOOK_FIELD_NAMES, OPTIONAL_FIELDS, REQUIRED_FIELDS, book_values

Format = Literal["csv", "jsonl", "onix"]
#: The formats the store both writes (exports) and reads.
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
#: The formats ``import_books`` reads: also ONIX for Books 3.0, which the store never writes.
IMPORT_FORMATS: tuple[Format, ...] = (*FORMATS, "onix")

#: Every column, in file order (the declared book fields). ``authors`` and ``genres`` hold ';'-separated lists in CSV.
COLUMNS: tuple[str, ...] = BOOK_FIELD_NAMES
REQUIRED_COLUMNS = REQUIRED_FIELDS
#: Columns that may be left out of a file: new books get the default, existing books keep their value.
OPTIONAL_COLUMNS = OPTIONAL_FIELDS
LIST_SEPARATOR = ";"


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (bad header, unknown format); no row is looked at."""


def _where(line: int, record: str, isbn: str) -> str:
    named = ", ".join(part for part in (record and f"record {record}", isbn and f"ISBN {isbn}") if part)
    return f"line {line} ({named})" if named else f"line {line}"


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected record: the file line it starts on and why.

    An ONIX product also names its ``record`` reference and its ``isbn`` as the feed gives it.
    """

    line: int
    reason: str
    record: str = ""
    isbn: str = ""

    def __str__(self) -> str:
        return f"{_where(self.line, self.record, self.isbn)}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RowNotice:
    """A value of a record that the store has no place for: reported and left out, while the record is imported."""

    line: int
    reason: str
    record: str = ""
    isbn: str = ""

    def __str__(self) -> str:
        return f"{_where(self.line, self.record, self.isbn)}: note: {self.reason}"


class BookRow:
    """One valid record, normalised (``isbn`` is the 13-digit form), its fields readable as attributes.

    ``present`` names the optional columns the record carries; the others are
    left at their default for a new book and untouched on an existing one.
    Built with the declared fields as keywords (``catalog.fields``); fields
    not given take their declared default. Immutable.
    """

    __slots__ = ("line", "present", "values")
    line: int
    present: frozenset[str]
    values: dict[str, Any]

    def __init__(self, *, line: int, present: frozenset[str], **values: Any) -> None:
        self._set(line, present, book_values(given=values))

    @classmethod
    def of(cls, line: int, present: frozenset[str], values: dict[str, Any]) -> BookRow:
        """A row from ``values`` that already holds every declared field (the validator's fast path)."""
        row = cls.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(row, "line", line)
        setattr_(row, "present", present)
        setattr_(row, "values", values)
        return row

    def _set(self, line: int, present: frozenset[str], values: dict[str, Any]) -> None:
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "present", present)
        object.__setattr__(self, "values", values)

    if TYPE_CHECKING:
        # Each declared field is a property (set below); to the type checker, any attribute.
        def __getattr__(self, name: str) -> Any: ...

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"BookRow is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BookRow):
            return NotImplemented
        return (self.line, self.present, self.values) == (other.line, other.present, other.values)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.values.items())
        return f"BookRow(line={self.line}, present={sorted(self.present)}, {values})"


def _field_property(name: str) -> property:
    return property(lambda row: row.values[name], doc=f"The row's ``{name}``.")


for _name in BOOK_FIELD_NAMES:
    setattr(BookRow, _name, _field_property(_name))


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
    """The file format from its extension: ``.csv``, ``.jsonl`` / ``.ndjson``, or ``.xml`` / ``.onix`` (ONIX 3.0)."""
    lowered = path.lower()
    if lowered.endswith((".xml", ".onix")):
        return "onix"
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ImportFormatError(f"cannot tell the format of {path!r} from its extension; pass --format csv, jsonl or onix")
