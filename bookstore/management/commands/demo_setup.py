"""First-run set-up of the local demo store (used by ``make run``)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from bookstore.demo import DEMO_STAFF_EMAIL, demo_staff_create, demo_staff_exists
from catalog.models import Book

__all__ = ["DEMO_STAFF_EMAIL", "Command"]


class Command(BaseCommand):
    help = "Load demo data into an empty store and create the demo staff account (prints its password once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--books", type=int, default=2000, help="Books to generate on first run.")
        parser.add_argument("--orders", type=int, default=500, help="Orders to generate on first run.")
        parser.add_argument("--covers", type=int, default=100, help="Books that get a drawn cover on first run.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the store is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not Book.objects.exists():
            self.stdout.write("Empty catalog: loading demo data ...")
            call_command(
                "seed_demo",
                books=options["books"],
                orders=options["orders"],
                covers=options["covers"],
                stdout=self.stdout,
            )
        if demo_staff_exists():
            self.stdout.write(
                f"Demo staff account {DEMO_STAFF_EMAIL} exists; its password was printed on first run.\n"
                "  Lost it? `make staff-password` (or `python manage.py demo_staff_password`) sets a new one "
                "and prints it."
            )
            return
        _, password = demo_staff_create()
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo staff account created (shown once, keep it):\n"
                f"    email:    {DEMO_STAFF_EMAIL}\n    password: {password}\n"
                f"    admin:    {options['base_url'].rstrip('/')}/admin/\n"
                "  (`make staff-password` sets a new one if you lose it.)\n"
            )
        )
