"""``manage.py export_books``: every book as CSV or JSON Lines, in the format ``import_books`` reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.bulk import book_export_records
from catalog.importing import COLUMNS, FORMATS, LIST_SEPARATOR, csv_values
from catalog.management.commands._output import open_sink, output_format, write_records


class Command(BaseCommand):
    help = "Export every book to CSV or JSON Lines (stdout or --output FILE); the output re-imports with import_books."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument(
            "--format", choices=FORMATS, help="Output format (default: from the --output extension, else csv)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["output"]
        fmt = output_format(options["format"], path)

        def csv_row(record: Mapping[str, Any]) -> list[str]:
            if any(LIST_SEPARATOR in name for name in record["authors"]):
                # The CSV list separator cannot be escaped; JSON Lines keeps such names intact.
                self.stderr.write(
                    f"warning: {record['isbn']}: an author name contains '{LIST_SEPARATOR}' and will re-import "
                    "as two authors; export with --format jsonl to keep it."
                )
            return csv_values(record)

        with open_sink(self.stdout, path) as sink:
            count = write_records(sink, book_export_records(), fmt=fmt, columns=COLUMNS, csv_row=csv_row)
        if path and options["verbosity"] >= 1:
            self.stderr.write(f"Exported {count} books to {path}.")
