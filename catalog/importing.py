"""Book files: streaming CSV / JSON Lines reading, row validation and the export record.

Pure module (no models): it turns an iterable of raw byte lines into a stream of
validated ``BookRow`` or ``RowError`` (line number + reason), one record at a
time, so a file of any size is read in constant memory. ``catalog.bulk`` writes
the rows; the ``import_books`` / ``export_books`` commands are thin shells.

The format is documented in ``docs/commands.md``.
"""

from __future__ import annotations

import codecs
import csv
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import orjson

from bookstore.limits import MAX_PRICE
from catalog.isbn import InvalidIsbn, to_isbn13
from catalog.languages import Language

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

#: A quoted CSV field may span lines (descriptions), but an unclosed quote must
#: not swallow the rest of the file: past this many lines the record is rejected.
MAX_RECORD_LINES = 200

MAX_LENGTHS = {"title": 500, "subtitle": 500, "publisher": 255, "author": 255, "genre": 100}
MAX_INT = 2_147_483_647

ISO_639_1 = frozenset(Language.values)

_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+\Z")
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


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


# --- physical lines -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str
    encoding_error: str | None


def _decode_lines(raw_lines: Iterable[bytes]) -> Iterator[_Line]:
    """Decode each line on its own, so one bad byte costs one line, not the file."""
    for number, raw in enumerate(raw_lines, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield _Line(number, raw.decode("utf-8"), None)
        except UnicodeDecodeError as exc:
            reason = (
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start + 1}); save the file as UTF-8"
            )
            yield _Line(number, raw.decode("utf-8", "replace"), reason)


class _PushBack:
    """An iterator that takes lines back, to resume reading after a broken record."""

    def __init__(self, lines: Iterator[_Line]) -> None:
        self._lines = lines
        self._back: deque[_Line] = deque()

    def __iter__(self) -> _PushBack:
        return self

    def __next__(self) -> _Line:
        return self._back.popleft() if self._back else next(self._lines)

    def push_back(self, lines: list[_Line]) -> None:
        self._back.extendleft(reversed(lines))


# --- CSV --------------------------------------------------------------------------------------


def _csv_groups(source: _PushBack) -> Iterator[list[_Line] | RowError]:
    """Group physical lines into CSV records (a quoted field may hold newlines).

    A record ends at the first line end where its quotes balance. An unclosed
    quote is reported on its line and reading resumes on the next line, so the
    records after it are still checked.
    """
    for first in source:
        group = [first]
        quotes = first.text.count('"')
        while quotes % 2 and len(group) < MAX_RECORD_LINES:
            following = next(source, None)
            if following is None:
                break
            group.append(following)
            quotes += following.text.count('"')
        if quotes % 2:
            source.push_back(group[1:])
            yield RowError(first.number, "malformed CSV quoting: a quoted field is never closed")
            continue
        yield group


def _parse_csv_group(group: list[_Line]) -> list[str] | RowError | None:
    """The fields of one record, ``None`` for a blank line, or why it cannot be parsed."""
    reader = csv.reader((line.text for line in group), strict=True)
    try:
        rows = [row for row in reader if row]
    except csv.Error as exc:
        return RowError(group[0].number, f"malformed CSV quoting: {exc}")
    if not rows:
        return None
    if len(rows) > 1:
        return RowError(group[0].number, "malformed CSV quoting: stray quote character")
    return rows[0]


def read_csv(raw_lines: Iterable[bytes]) -> Iterator[Record | RowError]:
    """Records of a CSV file with a header line, as ``(line, {column: text})``.

    Raises ``ImportFormatError`` when the header is missing or names unknown columns.
    """
    lines = _PushBack(_decode_lines(raw_lines))
    groups = _csv_groups(lines)
    header: list[str] | None = None
    for group in groups:
        if isinstance(group, RowError):
            if header is None:
                raise ImportFormatError(f"header, {group}")
            yield group
            continue
        if header is None:
            header = _csv_header(group)
            continue
        encoding_errors = [line for line in group if line.encoding_error]
        if encoding_errors:
            yield RowError(encoding_errors[0].number, str(encoding_errors[0].encoding_error))
            continue
        fields = _parse_csv_group(group)
        if fields is None:
            continue
        if isinstance(fields, RowError):
            # A record that spans lines but does not parse: report it and resume
            # on its second line, so well-formed lines after a stray quote still count.
            lines.push_back(group[1:])
            yield fields
            continue
        if len(fields) != len(header):
            yield RowError(group[0].number, f"expected {len(header)} fields, found {len(fields)}")
            continue
        yield group[0].number, dict(zip(header, fields, strict=True))
    if header is None:
        raise ImportFormatError("the file is empty: a CSV file starts with a header line naming its columns")


def _csv_header(group: list[_Line]) -> list[str] | None:
    if group[0].encoding_error:
        raise ImportFormatError(f"header, line {group[0].number}: {group[0].encoding_error}")
    fields = _parse_csv_group(group)
    if fields is None:
        return None
    if isinstance(fields, RowError):
        raise ImportFormatError(f"header, {fields}")
    header = [name.strip().lower() for name in fields]
    check_columns(header)
    return header


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


# --- JSON Lines ---------------------------------------------------------------------------------


def read_jsonl(raw_lines: Iterable[bytes]) -> Iterator[Record | RowError]:
    """Records of a JSON Lines file (one JSON object per line; blank lines are skipped)."""
    for line in _decode_lines(raw_lines):
        if line.encoding_error:
            yield RowError(line.number, line.encoding_error)
            continue
        if not line.text.strip():
            continue
        try:
            value = orjson.loads(line.text)
        except orjson.JSONDecodeError as exc:
            yield RowError(line.number, f"invalid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield RowError(line.number, "expected a JSON object")
            continue
        unknown = [key for key in value if key not in COLUMNS]
        if unknown:
            yield RowError(line.number, f"unknown field(s): {', '.join(map(str, unknown))}")
            continue
        yield line.number, value


# --- validation ----------------------------------------------------------------------------------


def _text(value: Any, field: str, errors: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"{field}: expected text")
        return ""
    return str(value)


def _names(value: Any, field: str, errors: list[str]) -> tuple[str, ...]:
    """A list given as a JSON array or as a ';'-separated string; blanks dropped, order kept, no repeats."""
    if value is None:
        items: list[Any] = []
    elif isinstance(value, str):
        items = value.split(LIST_SEPARATOR)
    elif isinstance(value, list):
        items = value
    else:
        errors.append(f"{field}: expected a list or a '{LIST_SEPARATOR}'-separated string")
        return ()
    names: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            errors.append(f"{field}: expected names as text")
            return ()
        name = " ".join(item.split())
        if name:
            names[name] = None
    return tuple(names)


def _integer(value: Any, field: str, errors: list[str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.append(f"{field}: expected a whole number")
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        number = int(value)
    else:
        errors.append(f"{field}: expected a whole number, got {value!r}")
        return None
    if number < 0:
        errors.append(f"{field}: must be 0 or more, got {number}")
        return None
    if number > MAX_INT:
        errors.append(f"{field}: too large")
        return None
    return number


def _price(value: Any, errors: list[str]) -> Decimal | None:
    if value is None or value == "":
        errors.append("price: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append("price: expected a decimal number")
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        errors.append(f"price: not a number: {value!r}")
        return None
    if not price.is_finite():
        errors.append(f"price: not a number: {value!r}")
        return None
    if price < 0:
        errors.append(f"price: must be 0 or more, got {price}")
        return None
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and price != price.quantize(Decimal("0.01")):
        errors.append(f"price: at most 2 decimal places, got {price}")
        return None
    if price > MAX_PRICE:
        errors.append(f"price: at most {MAX_PRICE}")
        return None
    return price.quantize(Decimal("0.01"))


def _boolean(value: Any, errors: list[str]) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    errors.append(f"is_active: expected true or false, got {value!r}")
    return True


def _published_date(value: Any, errors: list[str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.append(f"published_date: expected a date YYYY-MM-DD, got {value!r}")
    return None


def _max_length(value: str, field: str, limit: int, errors: list[str]) -> None:
    if len(value) > limit:
        errors.append(f"{field}: at most {limit} characters")


def validate_record(line: int, values: Mapping[str, Any]) -> BookRow | RowError:
    """Check one record against the catalog rules; every problem of the row is named."""
    errors: list[str] = []

    isbn = ""
    raw_isbn = _text(values.get("isbn"), "isbn", errors)
    if not raw_isbn:
        errors.append("isbn: required")
    else:
        try:
            isbn = to_isbn13(raw_isbn)
        except InvalidIsbn as exc:
            errors.append(f"isbn: {str(exc).rstrip('.')} ({raw_isbn})")

    title = _text(values.get("title"), "title", errors)
    if not title:
        errors.append("title: required")
    _max_length(title, "title", MAX_LENGTHS["title"], errors)
    subtitle = _text(values.get("subtitle"), "subtitle", errors)
    _max_length(subtitle, "subtitle", MAX_LENGTHS["subtitle"], errors)
    description = _text(values.get("description"), "description", errors)
    publisher = _text(values.get("publisher"), "publisher", errors)
    _max_length(publisher, "publisher", MAX_LENGTHS["publisher"], errors)

    authors = _names(values.get("authors"), "authors", errors)
    if not authors:
        errors.append("authors: at least one author is required")
    for author in authors:
        _max_length(author, "authors", MAX_LENGTHS["author"], errors)

    genres = _names(values.get("genres"), "genres", errors)
    for slug in genres:
        if not _SLUG_RE.match(slug):
            errors.append(f"genres: {slug!r} is not a slug (letters, digits, '-' and '_')")
        _max_length(slug, "genres", MAX_LENGTHS["genre"], errors)

    language = _text(values.get("language"), "language", errors).lower() or "en"
    if language not in ISO_639_1:
        errors.append(f"language: {language!r} is not an ISO 639-1 code")

    price = _price(values.get("price"), errors)
    page_count = _integer(values.get("page_count"), "page_count", errors)
    stock = _integer(values.get("stock"), "stock", errors)
    published_date = _published_date(values.get("published_date"), errors)
    is_active = _boolean(values.get("is_active"), errors)

    if errors or price is None:
        return RowError(line, "; ".join(errors))
    return BookRow(
        line=line,
        isbn=isbn,
        title=title,
        authors=authors,
        price=price,
        present=frozenset(values) & OPTIONAL_COLUMNS,
        subtitle=subtitle,
        description=description,
        genres=genres,
        publisher=publisher,
        published_date=published_date,
        language=language,
        page_count=page_count,
        stock=stock or 0,
        is_active=is_active,
    )


class IsbnSet:
    """The ISBN-13s of a file seen so far, at 16-32 bytes each.

    A Python ``set`` of ints costs about 90 bytes per entry, which made a
    million-row import grow by 90 MB; this open-addressing table of 64-bit
    integers keeps the import's memory nearly flat.
    """

    _EMPTY = 0  # no ISBN-13 is 0

    def __init__(self) -> None:
        self._slots = array("q", bytes(8 * 1024))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, isbn: int) -> bool:
        """Add ``isbn``; false if it was already there."""
        slots = self._slots
        mask = len(slots) - 1
        # Fibonacci hashing spreads consecutive ISBNs over the table.
        index = ((isbn * 0x9E3779B97F4A7C15) >> 32) & mask
        while (value := slots[index]) != self._EMPTY:
            if value == isbn:
                return False
            index = (index + 1) & mask
        slots[index] = isbn
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("q", bytes(16 * len(old)))
        self._count = 0
        for value in old:
            if value != self._EMPTY:
                self.add(value)


def read_books(raw_lines: Iterable[bytes], *, fmt: Format) -> Iterator[BookRow | RowError]:
    """Validated rows of a book file, in file order, one at a time.

    An ISBN seen on an earlier valid row of the same file makes the later row
    invalid. Raises ``ImportFormatError`` for a file that cannot be read at all.
    """
    records = read_csv(raw_lines) if fmt == "csv" else read_jsonl(raw_lines)
    seen = IsbnSet()
    for record in records:
        if isinstance(record, RowError):
            yield record
            continue
        row = validate_record(*record)
        if isinstance(row, BookRow) and not seen.add(int(row.isbn)):
            row = RowError(row.line, f"isbn: {row.isbn} appears on an earlier line of this file")
        yield row


def format_for_path(path: str) -> Format:
    """The file format from its extension: ``.csv``, or ``.jsonl`` / ``.ndjson``."""
    lowered = path.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ImportFormatError(f"cannot tell the format of {path!r} from its extension; pass --format csv or jsonl")


# --- export ------------------------------------------------------------------------------------


def book_record(
    *,
    isbn: str,
    title: str,
    subtitle: str,
    description: str,
    authors: Iterable[str],
    genres: Iterable[str],
    publisher: str,
    published_date: date | None,
    language: str,
    page_count: int | None,
    price: Decimal,
    stock: int,
    is_active: bool,
) -> dict[str, Any]:
    """A book as a JSON Lines object (``csv_values`` flattens it for CSV); re-imports as the same book."""
    return {
        "isbn": isbn,
        "title": title,
        "subtitle": subtitle,
        "description": description,
        "authors": list(authors),
        "genres": list(genres),
        "publisher": publisher,
        "published_date": published_date.isoformat() if published_date else None,
        "language": language,
        "page_count": page_count,
        "price": f"{price:.2f}",
        "stock": stock,
        "is_active": is_active,
    }


def csv_values(record: Mapping[str, Any]) -> list[str]:
    """A record as CSV fields in ``COLUMNS`` order: lists joined with ';', ``None`` as empty."""
    values: list[str] = []
    for column in COLUMNS:
        value = record.get(column)
        if isinstance(value, list):
            values.append(LIST_SEPARATOR.join(value))
        elif isinstance(value, bool):
            values.append("true" if value else "false")
        elif value is None:
            values.append("")
        else:
            values.append(str(value))
    return values
