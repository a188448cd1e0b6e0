"""``manage.py import_books FILE``: create or update books from a CSV, JSON Lines or ONIX 3.0 file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.bulk import DEFAULT_BATCH_SIZE, books_import
from catalog.importing import IMPORT_FORMATS, ImportFormatError, RowError, RowNotice, format_for_path
from catalog.ledger import StockNote
from catalog.management.commands._progress import ProgressBar
from catalog.models import StockMovement

CHUNK_BYTES = 1 << 16


class Command(BaseCommand):
    help = (
        "Import books from a CSV, JSON Lines or ONIX for Books 3.0 file (formats in docs/commands.md), "
        "creating or updating them by ISBN. All or nothing unless --skip-invalid; every rejected row is "
        "reported with its line number (ONIX: and the product's record reference and ISBN), and the exit "
        "status is non-zero when any row was rejected. ONIX values the store has no place for are "
        "reported as notes and left out. Stock changes go to the stock ledger and created books and price or "
        "stock changes to the admin history, under --user (default: the system account)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the .csv, .jsonl or .xml (ONIX) file.")
        parser.add_argument("--format", choices=IMPORT_FORMATS, help="File format (default: from the file extension).")
        parser.add_argument("--dry-run", action="store_true", help="Validate every row and write nothing.")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows and report the rejected ones."
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows staged and merged at a time."
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="The user the import is recorded under (stock movements, admin history); default: the system account.",
        )

    @staticmethod
    def _user(email: str | None) -> Any:
        if email is None:
            return None
        user = get_user_model()._default_manager.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"--user: no user with the email address {email!r}.")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        path: str = options["file"]
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            fmt = options["format"] or format_for_path(path)
            size = os.path.getsize(path)
        except (ImportFormatError, OSError) as exc:
            raise CommandError(str(exc)) from exc

        stock_note = StockNote(kind=StockMovement.Kind.IMPORT, by=self._user(options["user"]))
        show_progress = self.stderr.isatty() and options["verbosity"] >= 1
        bars: list[ProgressBar] = []

        def open_lines() -> Iterator[bytes]:
            label = "Checking" if options["dry_run"] else "Importing"
            bar = ProgressBar(self.stderr, total=size, label=label, enabled=show_progress)
            bars.append(bar)
            with open(path, "rb") as file:
                # XML need not have line breaks at all: an ONIX file is read in fixed-size chunks.
                pieces = iter(lambda: file.read(CHUNK_BYTES), b"") if fmt == "onix" else file
                if not show_progress:
                    yield from pieces
                    return
                for piece in pieces:
                    bar.advance(len(piece))
                    yield piece
            bar.finish()

        def report(error: RowError) -> None:
            if bars:
                bars[-1].clear()
            self.stderr.write(str(error))

        def note(notice: RowNotice) -> None:
            if bars:
                bars[-1].clear()
            self.stderr.write(str(notice))

        try:
            result = books_import(
                open_lines=open_lines,
                note=stock_note,
                fmt=fmt,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                batch_size=options["batch_size"],
                on_error=report,
                on_notice=note,
                read_ahead=True,  # the callbacks above only write to stderr
            )
        except ImportFormatError as exc:
            raise CommandError(f"{path}: {exc}") from exc

        if result.written:
            self.stdout.write(
                f"Imported {result.created + result.updated} books "
                f"({result.created} created, {result.updated} updated) from {path}."
            )
        elif not result.rejected:
            self.stdout.write(f"Dry run: all {result.valid} rows of {path} are valid; nothing written.")
        if result.noticed:
            self.stdout.write(f"{result.noticed} values reported and left out (see the notes on stderr).")
        if result.rejected:
            if result.written:
                outcome = "they were skipped"
            elif options["dry_run"]:
                outcome = "dry run, nothing written"
            else:
                outcome = "nothing was written (fix them, or import the rest with --skip-invalid)"
            raise CommandError(f"{result.rejected} of {result.valid + result.rejected} rows rejected; {outcome}.")
