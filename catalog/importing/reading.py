"""Reading book files: physical lines, CSV records (quoted fields may span lines) and JSON Lines."""

from __future__ import annotations

import codecs
import csv
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from catalog.importing.records import COLUMNS, ImportFormatError, Record, RowError, check_columns
from catalog.spreadsheet import cells_restore

#: A quoted CSV field may span lines (descriptions), but an unclosed quote must
#: not swallow the rest of the file: past this many lines the record is rejected.
MAX_RECORD_LINES = 200

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
    if len(group) == 1:
        # Most records are one line without quotes, whose fields are its text between commas: split it,
        # rather than build a CSV reader per record (about a tenth of an import's reading and checking).
        text = group[0].text
        body = text[:-1] if text.endswith("\n") else text
        body = body[:-1] if body.endswith("\r") else body
        # Past csv's field size limit the reader reports the field; shorter, no field can reach it.
        fits = len(body) <= csv.field_size_limit()
        if fits and '"' not in body and "\r" not in body and "\x00" not in body:
            return body.split(",") if body else None
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
        # The export put an apostrophe before cells a spreadsheet would run as formulas; take it off again.
        yield group[0].number, dict(zip(header, cells_restore(fields), strict=True))
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
