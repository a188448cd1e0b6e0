"""Streaming CSV / JSON Lines output for the export commands, to stdout or a file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import orjson
from django.core.management.base import CommandError, OutputWrapper

from catalog.spreadsheet import SafeCsvWriter


class TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...


class _StdoutSink:
    """Raw text to a command's stdout (``OutputWrapper`` would add a newline per write)."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")


def output_format(fmt: str | None, path: str | None) -> str:
    """``--format`` if given, else from the ``--output`` extension, else CSV."""
    if fmt:
        return fmt
    if path and path.lower().endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if path and not path.lower().endswith(".csv"):
        raise CommandError(f"cannot tell the format of {path!r} from its extension; pass --format csv or jsonl")
    return "csv"


@contextmanager
def open_sink(stdout: OutputWrapper, path: str | None) -> Iterator[TextSink]:
    if not path:
        yield _StdoutSink(stdout)
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as file:
            yield file
    except OSError as exc:
        raise CommandError(str(exc)) from exc


def write_records(
    sink: TextSink,
    records: Iterable[Mapping[str, Any]],
    *,
    fmt: str,
    columns: Sequence[str],
    csv_row: Callable[[Mapping[str, Any]], list[str]],
) -> int:
    """Write ``records`` one at a time (CSV with a header line, or one JSON object a line); returns the count."""
    count = 0
    if fmt == "csv":
        writer = SafeCsvWriter(sink, lineterminator="\n")  # cells a spreadsheet would run get an apostrophe
        writer.writerow(columns)
        for record in records:
            writer.writerow(csv_row(record))
            count += 1
    else:
        for record in records:
            sink.write(orjson.dumps(record).decode() + "\n")
            count += 1
    return count
