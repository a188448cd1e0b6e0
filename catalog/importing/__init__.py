"""Book files: streaming CSV / JSON Lines / ONIX 3.0 reading, row validation and the export record.

Pure module (no models): it turns an iterable of raw byte lines into a stream of
validated ``BookRow`` or ``RowError`` (line number + reason), one record at a
time, so a file of any size is read in constant memory. ``catalog.bulk`` writes
the rows; the ``import_books`` / ``export_books`` commands are thin shells.

The format is documented in ``docs/commands.md``.
"""

from catalog.importing.exporting import book_record, csv_values
from catalog.importing.onix import read_onix
from catalog.importing.reading import MAX_RECORD_LINES, read_csv, read_jsonl
from catalog.importing.records import (
    COLUMNS,
    FORMATS,
    IMPORT_FORMATS,
    LIST_SEPARATOR,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    BookRow,
    Format,
    ImportFormatError,
    Record,
    RowError,
    RowNotice,
    check_columns,
    format_for_path,
)
from catalog.importing.validation import MAX_INT, MAX_PRICE, IsbnSet, onix_record, read_books, validate_record

__all__ = [
    "COLUMNS",
    "FORMATS",
    "IMPORT_FORMATS",
    "LIST_SEPARATOR",
    "MAX_INT",
    "MAX_PRICE",
    "MAX_RECORD_LINES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "BookRow",
    "Format",
    "ImportFormatError",
    "IsbnSet",
    "Record",
    "RowError",
    "RowNotice",
    "book_record",
    "check_columns",
    "csv_values",
    "format_for_path",
    "onix_record",
    "read_books",
    "read_csv",
    "read_jsonl",
    "read_onix",
    "validate_record",
]
