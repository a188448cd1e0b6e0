"""The export record: a book as the import reads it back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from catalog.fields import BOOK_FIELDS, Kind, book_values
from catalog.importing.records import COLUMNS, LIST_SEPARATOR

#: How a value of each kind is written into a record (the others are written as they are).
_WRITERS: dict[Kind, Callable[[Any], Any]] = {
    "authors": list,
    "contributors": lambda credits: [f"{role}:{name}" for name, role in credits],
    "genres": list,
    "date": lambda value: value.isoformat() if value else None,
    "price": lambda value: f"{value:.2f}",
}
_FIELD_WRITERS = tuple((field.name, _WRITERS.get(field.kind)) for field in BOOK_FIELDS)


def book_record(**values: Any) -> dict[str, Any]:
    """A book (every declared field, by name) as a JSON Lines object; re-imports as the same book.

    ``csv_values`` flattens it for CSV. Authors are names, genres slugs.
    """
    values = book_values(given=values)
    return {name: write(values[name]) if write else values[name] for name, write in _FIELD_WRITERS}


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
