"""``manage.py demo_staff_password``: a new random password for the demo staff account, printed once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bookstore.demo import DEMO_STAFF_EMAIL, demo_staff_password_reset


class Command(BaseCommand):
    help = (
        f"Set a new random password for the demo staff account ({DEMO_STAFF_EMAIL}, created by `make run`) "
        "and print it once. The old password stops working."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            password = demo_staff_password_reset()
        except get_user_model().DoesNotExist:
            raise CommandError(
                f"There is no demo staff account {DEMO_STAFF_EMAIL}; `make run` creates it on a fresh database "
                "(or create a staff user with `python manage.py createsuperuser`)."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                "\n  New password for the demo staff account (shown once, keep it):\n"
                f"    email:    {DEMO_STAFF_EMAIL}\n    password: {password}\n"
            )
        )
