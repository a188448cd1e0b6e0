"""The export record: a book as the import reads it back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from catalog.importing.records import COLUMNS, LIST_SEPARATOR


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
