"""Fixtures for the order tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orders.models import BulkDiscountTier
from tests.factories import BookFactory


@pytest.fixture
def default_tiers(db: Any) -> None:
    """The tiers a fresh database has (5 → 5 %, 10 → 10 %), whatever earlier tests did."""
    BulkDiscountTier.objects.all().delete()
    BulkDiscountTier.objects.create(min_quantity=5, percent="5.00")
    BulkDiscountTier.objects.create(min_quantity=10, percent="10.00")


@pytest.fixture
def no_tiers(db: Any) -> None:
    BulkDiscountTier.objects.all().delete()


@pytest.fixture
def make_book() -> Callable[..., Any]:
    """``make_book(price="12.50", stock=3)`` → a saved, active book."""

    def make(**kwargs: Any) -> Any:
        return BookFactory(**kwargs)

    return make
