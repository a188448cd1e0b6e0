"""``manage.py export_orders``: orders as CSV or JSON Lines, filtered by status and creation date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from catalog.importing import FORMATS
from catalog.management.commands._output import open_sink, output_format, write_records
from orders.exporting import COLUMNS, order_csv_values, order_record, orders_for_export
from orders.models import Order


def _bound(value: str, *, upper: bool) -> datetime:
    """``created_at >= bound`` (lower) or ``created_at < bound`` (upper) for an inclusive filter value.

    ``YYYY-MM-DD`` covers that whole day (UTC); an ISO 8601 datetime (naive means
    UTC) covers that instant.
    """
    day = parse_date(value) if len(value) == len("YYYY-MM-DD") else None
    if day is not None:
        return datetime.combine(day + timedelta(days=1) if upper else day, time.min, tzinfo=UTC)
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment + timedelta(microseconds=1) if upper else moment


class Command(BaseCommand):
    help = (
        "Export orders (oldest first) to CSV or JSON Lines on stdout or --output FILE. "
        "Filter with --status (repeatable), --created-after and --created-before (dates inclusive)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument(
            "--format", choices=FORMATS, help="Output format (default: from the --output extension, else csv)."
        )
        parser.add_argument(
            "--status", action="append", choices=Order.Status.values, help="Only orders in this status (repeatable)."
        )
        parser.add_argument("--created-after", help="YYYY-MM-DD (from the start of that day, UTC) or an ISO datetime.")
        parser.add_argument("--created-before", help="YYYY-MM-DD (to the end of that day, UTC) or an ISO datetime.")

    def handle(self, *args: Any, **options: Any) -> None:
        bounds: dict[str, datetime | None] = {}
        for name, upper in (("created_after", False), ("created_before", True)):
            value = options[name]
            try:
                bounds[name] = _bound(value, upper=upper) if value else None
            except ValueError as exc:
                flag = "--" + name.replace("_", "-")
                raise CommandError(f"{flag}: expected YYYY-MM-DD or an ISO 8601 datetime, got {value!r}") from exc
        orders = orders_for_export(statuses=options["status"], **bounds)
        path = options["output"]
        fmt = output_format(options["format"], path)
        records: Iterator[dict[str, Any]] = (order_record(order) for order in orders.iterator(chunk_size=1000))
        with open_sink(self.stdout, path) as sink:
            count = write_records(sink, records, fmt=fmt, columns=COLUMNS, csv_row=order_csv_values)
        if path and options["verbosity"] >= 1:
            self.stderr.write(f"Exported {count} orders to {path}.")
