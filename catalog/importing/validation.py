"""Row validation: a raw record checked against the catalog rules, and the validated stream of a file."""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bookstore.limits import MAX_PRICE
from catalog.importing.reading import read_csv, read_jsonl
from catalog.importing.records import LIST_SEPARATOR, OPTIONAL_COLUMNS, BookRow, Format, RowError
from catalog.isbn import InvalidIsbn, to_isbn13
from catalog.languages import Language

MAX_LENGTHS = {"title": 500, "subtitle": 500, "publisher": 255, "author": 255, "genre": 100}
MAX_INT = 2_147_483_647

ISO_639_1 = frozenset(Language.values)

_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+\Z")
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})

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
