"""`demo_setup` (used by `make run`): demo data once, staff credentials printed once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

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


def test_second_run_says_how_to_get_a_new_password():
    _run()
    output = _run()
    assert "make staff-password" in output
    assert "manage.py demo_staff_password" in output


def _new_password() -> tuple[str, str]:
    out = StringIO()
    call_command("demo_staff_password", stdout=out)
    output = out.getvalue()
    password = next(line.split(":", 1)[1].strip() for line in output.splitlines() if "password:" in line)
    return output, password


def test_staff_password_sets_a_new_random_password_and_prints_it_once(client):
    first = _run()
    old = next(
        line.split(":", 1)[1].strip() for line in first.splitlines() if "password:" in line and "customer" not in line
    )
    output, password = _new_password()
    assert DEMO_STAFF_EMAIL in output
    assert output.count(password) == 1
    assert password != old
    assert len(password) >= 12
    staff = get_user_model().objects.get(email=DEMO_STAFF_EMAIL)
    assert staff.check_password(password)
    assert not staff.check_password(old)
    assert client.login(username=DEMO_STAFF_EMAIL, password=password)
    assert client.get("/admin/").status_code == 200
    assert _new_password()[1] != password  # random each time


def test_staff_password_without_the_demo_account_says_how_to_get_one():
    with pytest.raises(CommandError, match="make run"):
        call_command("demo_staff_password", stdout=StringIO())
