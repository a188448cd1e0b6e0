"""The demo staff account that ``make run`` creates for a local store."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model

DEMO_STAFF_EMAIL = "staff@bookstore.local"


def demo_staff_exists() -> bool:
    return get_user_model().objects.filter(email=DEMO_STAFF_EMAIL).exists()


def demo_staff_create() -> tuple[Any, str]:
    """Create the demo staff account (a superuser) with a random password; return it and the password."""
    password = secrets.token_urlsafe(12)
    user = get_user_model().objects.create_superuser(email=DEMO_STAFF_EMAIL, password=password, first_name="Demo")
    return user, password


def demo_staff_password_reset() -> str:
    """Give the demo staff account a new random password and return it (raises DoesNotExist without one)."""
    user = get_user_model().objects.get(email=DEMO_STAFF_EMAIL)
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    return password
