"""Delete Idempotency-Key records past their 24 h lifetime (run it daily, e.g. from cron)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.idempotency import KEY_TTL, idempotency_key_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours; they are no longer honoured."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=float,
            default=KEY_TTL.total_seconds() / 3600,
            help="Delete keys created more than this many hours ago (default: 24).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_key_purge(older_than=timedelta(hours=options["older_than_hours"]))
        self.stdout.write(f"Deleted {deleted} idempotency key(s).")
