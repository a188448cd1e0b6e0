"""CSV that a spreadsheet opens as data: the one place every CSV the store writes goes through.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula, so a book titled
``=HYPERLINK("http://evil","x")`` would become a live link in the file staff
open ("CSV injection", OWASP). Such a cell is written with a leading
apostrophe, which spreadsheets show as text and do not display. Plain numbers
(``-5``, ``+1.50``) stay as they are.

The apostrophe is reversible: ``cell_restore`` gives back the exact value, so
an exported book file re-imports unchanged. Pure module; ``catalog`` and
``orders`` both use it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Apostrophes (none or more) and then a formula character: the cells that get one more apostrophe.
_NEUTRALISE = re.compile(r"'*[=+\-@\t\r]")
# One or more apostrophes and then a formula character: the cells a neutralised file can hold.
_RESTORE = re.compile(r"'+[=+\-@\t\r]")
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


def cell_neutralise(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet will not run: a leading apostrophe if it could be a formula.

    A value that already starts with apostrophes before a formula character
    gets one more too, so that ``cell_restore`` can tell the two apart.
    """
    if _NEUTRALISE.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def cell_restore(value: str) -> str:
    """The value ``cell_neutralise`` was given (a cell read back from a CSV file the store wrote)."""
    return value[1:] if value[:1] == "'" and _RESTORE.match(value) else value


def cells_restore(values: list[str]) -> list[str]:
    """``cell_restore`` of each of ``values`` (the import's hot path: one call a record)."""
    match = _RESTORE.match
    return [value[1:] if value[:1] == "'" and match(value) else value for value in values]


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through ``cell_neutralise`` (``None`` is an empty cell)."""

    def __init__(self, file: _Writable, **fmtparams: Any) -> None:
        self._writer = csv.writer(file, **fmtparams)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(["" if value is None else cell_neutralise(str(value)) for value in values])


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming."""

    def write(self, text: str, /) -> str:
        return text


def csv_lines(rows: Iterable[Iterable[Any]], **fmtparams: Any) -> Iterator[str]:
    """``rows`` (the header first) as CSV lines, one at a time, for a streaming HTTP response."""
    writer = SafeCsvWriter(_Echo(), **fmtparams)
    for row in rows:
        yield writer.writerow(row)
