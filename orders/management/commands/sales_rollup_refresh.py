"""Fold pending order changes into the daily sales rollup, or rebuild it from every order (``--rebuild``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.rollup import sales_rollup_rebuild, sales_rollup_refresh


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Recompute every day (order writes wait meanwhile).")

    def handle(self, *args: Any, **options: Any) -> None:
        start = time.perf_counter()
        if options["rebuild"]:
            sales_rollup_rebuild()
            self.stdout.write(f"Sales rollup rebuilt in {time.perf_counter() - start:.1f} s.")
        else:
            days = sales_rollup_refresh()
            self.stdout.write(f"Sales rollup: {days} day(s) recomputed in {time.perf_counter() - start:.1f} s.")
