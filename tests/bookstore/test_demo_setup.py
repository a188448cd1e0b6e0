"""`demo_setup` (used by `make run`): demo data once, staff credentials printed once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookstore.management.commands.demo_setup import DEMO_STAFF_EMAIL
from catalog.models import Book

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("demo_setup", books=30, orders=10, base_url="http://127.0.0.1:9000", stdout=out)
    return out.getvalue()


def test_first_run_loads_demo_data_and_prints_working_credentials(client):
    output = _run()
    assert Book.objects.count() == 30
    password = next(
        line.split(":", 1)[1].strip() for line in output.splitlines() if "password:" in line and "customer" not in line
    )
    assert "http://127.0.0.1:9000/admin/" in output
    staff = get_user_model().objects.get(email=DEMO_STAFF_EMAIL)
    assert staff.is_staff
    assert staff.check_password(password)
    assert client.login(username=DEMO_STAFF_EMAIL, password=password)
    assert client.get("/admin/").status_code == 200


def test_second_run_keeps_data_and_credentials():
    _run()
    password_hash = get_user_model().objects.get(email=DEMO_STAFF_EMAIL).password
    books = Book.objects.count()
    output = _run()
    assert "password:" not in output.replace("customer password:", "")
    assert "exists" in output
    assert get_user_model().objects.get(email=DEMO_STAFF_EMAIL).password == password_hash
    assert Book.objects.count() == books
