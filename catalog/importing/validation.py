"""Row validation: a raw record checked against the catalog rules, and the validated stream of a file."""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bookstore.limits import MAX_PRICE
from catalog.fields import AUTHOR_ROLE, BOOK_FIELDS, BOOK_FIELDS_BY_NAME, CONTRIBUTOR_ROLES, BookField, Credit, Kind
from catalog.importing.onix import OnixProduct, read_onix
from catalog.importing.reading import read_csv, read_jsonl
from catalog.importing.records import LIST_SEPARATOR, OPTIONAL_COLUMNS, BookRow, Format, RowError, RowNotice
from catalog.isbn import InvalidIsbn, to_isbn13
from catalog.languages import Language

MAX_INT = 2_147_483_647

ISO_639_1 = frozenset(Language.values)

_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+\Z")
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_FLAGS = _TRUE | _FALSE
_WHOLE_NUMBER_RE = re.compile(r"\s*[-+]?\d+\s*")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


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


def _max_length(value: str, field: str, limit: int | None, errors: list[str]) -> None:
    if limit is not None and len(value) > limit:
        errors.append(f"{field}: at most {limit} characters")


# One reader per kind of field (``catalog.fields``): the raw value in, the normalised value out,
# every problem appended to ``errors`` as "<field>: <reason>".


def _isbn(value: Any, field: BookField, errors: list[str]) -> str:
    raw = _text(value, field.name, errors)
    if not raw:
        errors.append(f"{field.name}: required")
        return ""
    try:
        return to_isbn13(raw)
    except InvalidIsbn as exc:
        errors.append(f"{field.name}: {str(exc).rstrip('.')} ({raw})")
        return ""


def _plain_text(value: Any, field: BookField, errors: list[str]) -> str:
    text = _text(value, field.name, errors)
    if field.required and not text:
        errors.append(f"{field.name}: required")
    _max_length(text, field.name, field.max_length, errors)
    return text


def _authors(value: Any, field: BookField, errors: list[str]) -> tuple[str, ...]:
    # At least one author, unless contributors are given: checked across the fields in ``validate_record``.
    names = _names(value, field.name, errors)
    for name in names:
        _max_length(name, field.name, field.max_length, errors)
    return names


_ROLES = frozenset(CONTRIBUTOR_ROLES)
CREDIT_SEPARATOR = ":"


def _credit(item: Any, field: BookField, errors: list[str]) -> Credit | None:
    """``"role:Name"`` (CSV and JSON Lines) or ``{"name": ..., "role": ...}`` (JSON Lines)."""
    if isinstance(item, dict):
        role, name = item.get("role"), item.get("name")
        if not isinstance(role, str) or not isinstance(name, str) or set(item) - {"role", "name"}:
            errors.append(f"{field.name}: expected {{'name': text, 'role': text}} objects")
            return None
    elif isinstance(item, str):
        role, separator, name = item.partition(CREDIT_SEPARATOR)
        if not separator:
            errors.append(f"{field.name}: {item.strip()[:60]!r} is not 'role{CREDIT_SEPARATOR}Name'")
            return None
    else:
        errors.append(f"{field.name}: expected 'role{CREDIT_SEPARATOR}Name' entries")
        return None
    role, name = role.strip().lower(), " ".join(name.split())
    if role not in _ROLES:
        errors.append(f"{field.name}: unknown role {role[:30]!r}; one of {', '.join(CONTRIBUTOR_ROLES)}")
        return None
    if not name:
        errors.append(f"{field.name}: a {role} without a name")
        return None
    _max_length(name, field.name, field.max_length, errors)
    return Credit(name, role)


def _contributors(value: Any, field: BookField, errors: list[str]) -> tuple[Credit, ...]:
    """Credits in cover order as a JSON array or a ';'-separated string; a repeated (name, role) is kept once."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[Any] = [item for item in value.split(LIST_SEPARATOR) if item.strip()]
    elif isinstance(value, list):
        items = value
    else:
        errors.append(f"{field.name}: expected a list or a '{LIST_SEPARATOR}'-separated string")
        return ()
    credits: dict[Credit, None] = {}
    for item in items:
        credit = _credit(item, field, errors)
        if credit is None:
            return ()
        credits[credit] = None
    return tuple(credits)


def _series(value: Any, field: BookField, errors: list[str]) -> str | None:
    name = " ".join(_text(value, field.name, errors).split())
    _max_length(name, field.name, field.max_length, errors)
    return name or None


def _choice(value: Any, field: BookField, errors: list[str]) -> str:
    code = _text(value, field.name, errors).lower() or str(field.default)
    if code not in field.choices:
        errors.append(f"{field.name}: {code[:30]!r} is not one of {', '.join(field.choices)}")
    return code


def _credits_check(row: dict[str, Any], errors: list[str]) -> None:
    """At least one credit; with ``contributors``, ``authors`` (if given) lists their authors, in order."""
    contributors, authors = row["contributors"], row["authors"]
    if not contributors:
        if not authors:
            errors.append("authors: at least one author is required")
        return
    credited = tuple(credit.name for credit in contributors if credit.role == AUTHOR_ROLE)
    if authors and authors != credited:
        errors.append("authors: must list the contributors with role author, in order")
    row["authors"] = credited


def _genres(value: Any, field: BookField, errors: list[str]) -> tuple[str, ...]:
    slugs = _names(value, field.name, errors)
    for slug in slugs:
        if not _SLUG_RE.match(slug):
            errors.append(f"{field.name}: {slug!r} is not a slug (letters, digits, '-' and '_')")
        _max_length(slug, field.name, field.max_length, errors)
    return slugs


def _language(value: Any, field: BookField, errors: list[str]) -> str:
    language = _text(value, field.name, errors).lower() or str(field.default)
    if language not in ISO_639_1:
        errors.append(f"{field.name}: {language!r} is not an ISO 639-1 code")
    return language


def _count(value: Any, field: BookField, errors: list[str]) -> int | None:
    name = field.name
    if value is None or value == "":
        return field.default
    if isinstance(value, bool):
        errors.append(f"{name}: expected a whole number")
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _WHOLE_NUMBER_RE.fullmatch(value):
        number = int(value)
    else:
        errors.append(f"{name}: expected a whole number, got {value!r}")
        return None
    if number < 0:
        errors.append(f"{name}: must be 0 or more, got {number}")
        return None
    if number > MAX_INT:
        errors.append(f"{name}: too large")
        return None
    return number


def _price(value: Any, field: BookField, errors: list[str]) -> Decimal | None:
    name = field.name
    if value is None or value == "":
        errors.append(f"{name}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(f"{name}: expected a decimal number")
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        errors.append(f"{name}: not a number: {value!r}")
        return None
    if not price.is_finite():
        errors.append(f"{name}: not a number: {value!r}")
        return None
    if price < 0:
        errors.append(f"{name}: must be 0 or more, got {price}")
        return None
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and price != price.quantize(Decimal("0.01")):
        errors.append(f"{name}: at most 2 decimal places, got {price}")
        return None
    if price > MAX_PRICE:
        errors.append(f"{name}: at most {MAX_PRICE}")
        return None
    return price.quantize(Decimal("0.01"))


def _flag(value: Any, field: BookField, errors: list[str]) -> bool:
    if value is None or value == "":
        return bool(field.default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and (word := value.strip().lower()) in _FLAGS:
        return word in _TRUE
    errors.append(f"{field.name}: expected true or false, got {value!r}")
    return bool(field.default)


def _date(value: Any, field: BookField, errors: list[str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.append(f"{field.name}: expected a date YYYY-MM-DD, got {value!r}")
    return None


_READERS: dict[Kind, Callable[[Any, BookField, list[str]], Any]] = {
    "isbn": _isbn,
    "text": _plain_text,
    "authors": _authors,
    "contributors": _contributors,
    "genres": _genres,
    "series": _series,
    "choice": _choice,
    "date": _date,
    "language": _language,
    "count": _count,
    "price": _price,
    "flag": _flag,
}
_FIELD_READERS = tuple((field.name, field, _READERS[field.kind]) for field in BOOK_FIELDS)


def _read_empty(field: BookField) -> tuple[Any, tuple[str, ...]]:
    problems: list[str] = []
    return _READERS[field.kind](None, field, problems), tuple(problems)


#: What each reader makes of a missing or empty value (``None`` and ``""`` read alike), and the problems it
#: names then (a required field's): read once, since most rows leave most optional columns empty.
_EMPTY_READS = {field.name: _read_empty(field) for field in BOOK_FIELDS}


def validate_record(line: int, values: Mapping[str, Any]) -> BookRow | RowError:
    """Check one record against the catalog rules; every problem of the row is named."""
    errors: list[str] = []
    row: dict[str, Any] = {}
    for name, field, read in _FIELD_READERS:
        value = values.get(name)
        if value is None or value == "":
            row[name], problems = _EMPTY_READS[name]
            errors.extend(problems)
        else:
            row[name] = read(value, field, errors)
    _credits_check(row, errors)
    if row["series_number"] is not None and not row["series"]:
        errors.append("series_number: needs a series")
    if row["publication_status"] == "forthcoming" and row["release_date"] is None:
        errors.append("release_date: required for a forthcoming book")
    if errors:
        return RowError(line, "; ".join(errors))
    return BookRow.of(line, frozenset(values) & OPTIONAL_COLUMNS, row)


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


def onix_record(product: OnixProduct) -> dict[str, Any]:
    """The import record of an ONIX product: its values under the store's field names.

    A value for a field the store does not declare is reported on the product
    (``notices``) and left out.
    """
    values = {name: value for name, value in product.values.items() if name in BOOK_FIELDS_BY_NAME}
    for name in (name for name in product.values if name not in values):
        product.notices.append(f"{name} {product.values[name]!r}: the store has no {name} field; left out")
    values["isbn"] = product.isbn
    values["contributors"] = [{"name": name, "role": role} for name, role in product.credits]
    return values


def _onix_records(
    chunks: Iterable[bytes], *, currency: str, on_notice: Callable[[RowNotice], None]
) -> Iterator[tuple[OnixProduct, BookRow | RowError]]:
    for product in read_onix(chunks, currency=currency):
        where = {"record": product.record_reference, "isbn": product.isbn}
        row: BookRow | RowError | None = None
        if product.applied and not product.errors:
            row = validate_record(product.line, onix_record(product))
        for notice in product.notices:
            on_notice(RowNotice(product.line, notice, **where))
        if not product.applied:
            continue
        if product.errors or isinstance(row, RowError):
            reasons = [*product.errors, *([row.reason] if isinstance(row, RowError) else [])]
            yield product, RowError(product.line, "; ".join(reasons), **where)
        elif row is not None:
            yield product, row


def read_books(
    raw_lines: Iterable[bytes],
    *,
    fmt: Format,
    currency: str = "EUR",
    on_notice: Callable[[RowNotice], None] = lambda notice: None,
) -> Iterator[BookRow | RowError]:
    """Validated rows of a book file, in file order, one at a time.

    An ISBN seen on an earlier valid row of the same file makes the later row
    invalid. Raises ``ImportFormatError`` for a file that cannot be read at all.

    ONIX (``fmt="onix"``): ``raw_lines`` may be chunks of any size; a product
    is priced in ``currency``; what a product carries that the store leaves
    out goes to ``on_notice``, and a product the store does not apply (a
    deletion) is reported there and yields nothing. Errors name the product's
    record reference and ISBN.
    """
    seen = IsbnSet()
    if fmt == "onix":
        for product, row in _onix_records(raw_lines, currency=currency, on_notice=on_notice):
            if isinstance(row, BookRow) and not seen.add(int(row.isbn)):
                row = RowError(
                    row.line,
                    f"isbn: {row.isbn} appears in an earlier product of this file",
                    record=product.record_reference,
                    isbn=product.isbn,
                )
            yield row
        return
    records = read_csv(raw_lines) if fmt == "csv" else read_jsonl(raw_lines)
    for record in records:
        if isinstance(record, RowError):
            yield record
            continue
        row = validate_record(*record)
        if isinstance(row, BookRow) and not seen.add(int(row.isbn)):
            row = RowError(row.line, f"isbn: {row.isbn} appears on an earlier line of this file")
        yield row
