"""bookstore.limits: the id and money limits every app shares, declared once and matching the columns."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import models

from bookstore.limits import CENT, MAX_ID, MAX_PRICE, money
from catalog.models import Book
from orders.models import Order, OrderItem

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = ("accounts", "bookstore", "catalog", "orders")


def _largest(field: models.DecimalField) -> Decimal:
    assert field.max_digits is not None
    assert field.decimal_places is not None
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(1).scaleb(-field.decimal_places)


@pytest.mark.parametrize(
    "field",
    [Book._meta.get_field("price"), Order._meta.get_field("total"), OrderItem._meta.get_field("line_total")],
    ids=str,
)
def test_max_price_is_what_the_money_columns_hold(field: models.DecimalField) -> None:
    assert MAX_PRICE == _largest(field) == Decimal("99999999.99")
    assert Decimal("0.01") == CENT


def test_max_id_is_the_largest_64_bit_primary_key() -> None:
    assert MAX_ID == 9_223_372_036_854_775_807
    assert isinstance(Book._meta.pk, models.BigAutoField)


@pytest.mark.parametrize(("value", "expected"), [("0.005", "0.01"), ("2.345", "2.35"), ("-0.005", "-0.01")])
def test_money_rounds_half_up(value: str, expected: str) -> None:
    assert money(Decimal(value)) == Decimal(expected)


def test_limits_import_neither_django_nor_drf() -> None:
    # Load the module on its own: the bookstore package itself starts the Celery app, which loads Django.
    probe = (
        "import importlib.util, sys; "
        "spec = importlib.util.spec_from_file_location('limits', 'bookstore/limits.py'); "
        "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'rest_framework'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# What "declared once" forbids elsewhere: a second id limit, price limit or half-up rounding.
_REDECLARATIONS = re.compile(r"2\s*\*\*\s*63|99999999\.99|ROUND_HALF_UP")


def test_limits_and_rounding_are_declared_only_in_bookstore_limits() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in PRODUCT_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts and path != ROOT / "bookstore" / "limits.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _REDECLARATIONS.search(line)
    ]
    assert offenders == []
