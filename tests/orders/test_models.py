"""Database-level invariants of the order tables, and the default tiers migration."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from orders.models import BulkDiscountTier, IdempotencyKey, Order, OrderItem
from tests.factories import (
    BookFactory,
    BulkDiscountTierFactory,
    CouponFactory,
    OrderFactory,
    OrderItemFactory,
    StatusChangeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def violates(build) -> bool:
    try:
        with transaction.atomic():
            build()
    except IntegrityError:
        return True
    return False


def test_coupon_code_is_unique_case_insensitively_in_the_database():
    CouponFactory(code="Spring")
    assert violates(lambda: CouponFactory(code="SPRING"))


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("percent", "100.00", True),
        ("percent", "100.01", False),
        ("percent", "0.00", False),
        ("fixed", "1000.00", True),
        ("fixed", "0.00", False),
        ("fixed", "-1.00", False),
        ("other", "5.00", False),
    ],
)
def test_coupon_value_check(kind, value, ok):
    assert violates(lambda: CouponFactory(kind=kind, value=value)) is not ok


def test_coupon_period_check():
    now = timezone.now()
    assert violates(lambda: CouponFactory(starts_at=now, ends_at=now))


@pytest.mark.parametrize(
    ("min_quantity", "percent", "ok"),
    [(1, "100.00", True), (0, "5.00", False), (2, "0.00", False), (3, "100.01", False)],
)
def test_tier_checks(min_quantity, percent, ok):
    assert violates(lambda: BulkDiscountTierFactory(min_quantity=min_quantity, percent=percent)) is not ok


def test_tier_min_quantity_is_unique():
    BulkDiscountTier.objects.create(min_quantity=77, percent="1.00")
    assert violates(lambda: BulkDiscountTier.objects.create(min_quantity=77, percent="2.00"))


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "lost"},
        {"subtotal": Decimal("-1.00")},
        {"total": Decimal("-0.01")},
        {"discount_total": Decimal("-1.00")},
        {"subtotal": Decimal("5.00"), "discount_total": Decimal("6.00"), "total": Decimal("0.00")},
    ],
)
def test_order_checks(fields):
    assert violates(lambda: OrderFactory(**fields))


def test_order_number_is_unique():
    OrderFactory(number="BK-2026-000001")
    assert violates(lambda: OrderFactory(number="BK-2026-000001"))


@pytest.mark.parametrize("quantity", [0, 101])
def test_item_quantity_check(quantity):
    assert violates(lambda: OrderItemFactory(quantity=quantity))


def test_item_book_once_per_order():
    item = OrderItemFactory()
    assert violates(lambda: OrderItemFactory(order=item.order, book=item.book))


def test_ordered_book_cannot_be_deleted():
    item = OrderItemFactory()
    with pytest.raises(ProtectedError):
        item.book.delete()


def test_user_with_orders_cannot_be_deleted_and_used_coupon_neither():
    coupon = CouponFactory()
    order = OrderFactory(coupon=coupon)
    with pytest.raises(ProtectedError):
        order.user.delete()
    with pytest.raises(ProtectedError):
        coupon.delete()


def test_idempotency_key_unique_per_user():
    user = UserFactory()
    IdempotencyKey.objects.create(user=user, key="k", fingerprint="f")
    assert violates(lambda: IdempotencyKey.objects.create(user=user, key="k", fingerprint="g"))
    IdempotencyKey.objects.create(user=UserFactory(), key="k", fingerprint="f")


def test_string_forms():
    order = OrderFactory(number="BK-2026-000042")
    item = OrderItemFactory(order=order, title="Dune", quantity=2)
    change = StatusChangeFactory(order=order, from_status="pending", to_status="paid")
    assert str(order) == "BK-2026-000042"
    assert str(item) == "2 x Dune"
    assert str(change) == "BK-2026-000042: pending -> paid"
    assert str(CouponFactory(code="HELLO")) == "HELLO"
    assert str(BulkDiscountTier(min_quantity=5, percent=Decimal("5.00"))) == "5+ books: 5 %"
    assert Order.format_number(123, 2026) == "BK-2026-000123"
    assert Order.format_number(1234567, 2027) == "BK-2027-1234567"


def test_default_tiers_migration_creates_them_once():
    migration = importlib.import_module("orders.migrations.0002_default_discount_tiers")
    BulkDiscountTier.objects.all().delete()
    migration.create_default_tiers(apps, None)
    migration.create_default_tiers(apps, None)
    assert list(BulkDiscountTier.objects.values_list("min_quantity", "percent")) == [
        (5, Decimal("5.00")),
        (10, Decimal("10.00")),
    ]
    migration.remove_default_tiers(apps, None)
    assert not BulkDiscountTier.objects.exists()


def test_order_item_keeps_its_snapshot_independent_of_the_book():
    book = BookFactory(title="Before", price="3.00")
    item = OrderItemFactory(book=book)
    book.title = "After"
    book.save()
    assert OrderItem.objects.get(pk=item.pk).title == "Before"
