"""``manage.py seed_demo``: a realistic, reproducible demo store, written in bulk (see ``_demo_store``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from catalog.covers import demo_covers_write
from catalog.models import Book
from orders.management.commands._demo_store import (
    DEMO_CUSTOMER_PASSWORD,
    DEMO_EMAIL_DOMAIN,
    DemoStore,
    demo_store_wipe,
)

__all__ = ["DEMO_CUSTOMER_PASSWORD", "DEMO_EMAIL_DOMAIN", "Command"]


class Command(BaseCommand):
    help = (
        "Fill an empty store with realistic demo data: books, authors, genres, customers, coupons and "
        "orders over the last 90 days. Reproducible with --seed. Refuses a non-empty catalog unless --force, "
        "which first DELETES the catalog, every order and coupon, and the demo customers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--books", type=int, default=2000, help="Number of books (default 2000).")
        parser.add_argument("--orders", type=int, default=500, help="Number of orders (default 500).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed; the same seed gives the same store.")
        parser.add_argument(
            "--force", action="store_true", help="Wipe the catalog, orders, coupons and demo users first."
        )
        parser.add_argument(
            "--covers",
            type=int,
            default=0,
            help="Draw covers (title and author) for this many books, the first in list order (default 0: none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        books, orders = options["books"], options["orders"]
        if books < 1 or orders < 0:
            raise CommandError("--books must be at least 1 and --orders at least 0.")
        if Book.objects.exists() and not options["force"]:
            raise CommandError(
                "The catalog is not empty; seed_demo only fills an empty store. "
                "Use --force to delete the catalog, orders, coupons and demo users and seed again."
            )
        started = time.monotonic()
        store = DemoStore(seed=options["seed"], books=books, orders=orders, now=timezone.now())
        with transaction.atomic():
            if options["force"]:
                demo_store_wipe()
            counts = store.write()
            # Thumbnail tasks go out at the commit; a worker makes them in the background.
            drawn = demo_covers_write(limit=options["covers"], seed=options["seed"]) if options["covers"] > 0 else 0
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Seeded {counts['books']:,} books by {counts['authors']:,} authors in {counts['genres']} genres, "
            f"{counts['customers']:,} customers, {counts['orders']:,} orders, {counts['coupons']} coupons "
            f"and {drawn:,} covers in {elapsed:.1f} s (seed {options['seed']}; customer password: {DEMO_CUSTOMER_PASSWORD})."
        )
