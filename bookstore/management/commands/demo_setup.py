"""First-run set-up of the local demo store (used by ``make run``)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from catalog.models import Book

DEMO_STAFF_EMAIL = "staff@bookstore.local"


class Command(BaseCommand):
    help = "Load demo data into an empty store and create the demo staff account (prints its password once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--books", type=int, default=2000, help="Books to generate on first run.")
        parser.add_argument("--orders", type=int, default=500, help="Orders to generate on first run.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the store is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not Book.objects.exists():
            self.stdout.write("Empty catalog: loading demo data ...")
            call_command("seed_demo", books=options["books"], orders=options["orders"], stdout=self.stdout)
        user_model = get_user_model()
        if user_model.objects.filter(email=DEMO_STAFF_EMAIL).exists():
            self.stdout.write(f"Demo staff account {DEMO_STAFF_EMAIL} exists (its password was printed on first run).")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(email=DEMO_STAFF_EMAIL, password=password, first_name="Demo")
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Demo staff account created (shown once, keep it):\n"
                f"    email:    {DEMO_STAFF_EMAIL}\n    password: {password}\n"
                f"    admin:    {options['base_url'].rstrip('/')}/admin/\n"
            )
        )
