"""orders.services.discount_tier_create / _update / _delete: the bulk tier rules, for whichever caller."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError

from orders.exceptions import DiscountTierInvalid, DiscountTierTaken
from orders.models import BulkDiscountTier
from orders.services import coupons as coupon_services
from orders.services import discount_tier_create, discount_tier_delete, discount_tier_update

pytestmark = pytest.mark.django_db

D = Decimal


def tiers() -> list[tuple[int, Decimal]]:
    return list(BulkDiscountTier.objects.order_by("min_quantity").values_list("min_quantity", "percent"))


def test_create_update_delete(no_tiers):
    tier = discount_tier_create(min_quantity=3, percent=D("20"))
    assert tiers() == [(3, D("20.00"))]
    discount_tier_update(tier=tier, percent=D("50"))
    assert tiers() == [(3, D("50.00"))]
    discount_tier_update(tier=tier, min_quantity=4)
    assert tiers() == [(4, D("50.00"))]
    discount_tier_delete(tier=tier)
    assert tiers() == []


def test_a_second_tier_for_the_same_quantity_is_refused(no_tiers):
    first = discount_tier_create(min_quantity=5, percent=D("5"))
    other = discount_tier_create(min_quantity=10, percent=D("10"))
    with pytest.raises(DiscountTierTaken) as caught:
        discount_tier_create(min_quantity=5, percent=D("7"))
    assert list(caught.value.details) == ["min_quantity"]
    assert (caught.value.status_code, caught.value.code) == (400, "validation_error")
    with pytest.raises(DiscountTierTaken):
        discount_tier_update(tier=BulkDiscountTier.objects.get(pk=other.pk), min_quantity=5)
    discount_tier_update(tier=first, min_quantity=5, percent=D("6"))  # its own quantity is fine
    assert tiers() == [(5, D("6.00")), (10, D("10.00"))]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"min_quantity": 0, "percent": D("5")}, "min_quantity"),
        ({"min_quantity": 2, "percent": D("0")}, "percent"),
        ({"min_quantity": 2, "percent": D("100.01")}, "percent"),
        ({"min_quantity": 2, "percent": D("-1")}, "percent"),
    ],
)
def test_values_out_of_range_are_refused_naming_the_field(no_tiers, values, field):
    with pytest.raises(DiscountTierInvalid) as caught:
        discount_tier_create(**values)
    assert field in caught.value.details
    assert tiers() == []


def test_a_quantity_stored_by_a_concurrent_request_after_the_check_is_still_taken(no_tiers, monkeypatch):
    discount_tier_create(min_quantity=5, percent=D("5"))
    real, checks = coupon_services._tier_taken, []

    def first_check_misses(min_quantity, **kwargs):
        checks.append(min_quantity)
        return len(checks) > 1 and real(min_quantity, **kwargs)

    monkeypatch.setattr(coupon_services, "_tier_taken", first_check_misses)
    with pytest.raises(DiscountTierTaken) as caught:
        discount_tier_create(min_quantity=5, percent=D("7"))
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert tiers() == [(5, D("5.00"))]


def test_every_tier_write_reaches_the_next_quote_through_the_cache(no_tiers, django_capture_on_commit_callbacks):
    """Quotes (and placement on SQLite) read the tiers from the cache; each write clears it, now and after the commit."""
    from django.core.cache import cache

    from orders.services import OrderLine, order_quote
    from orders.services.orders import TIERS_CACHE_KEY
    from tests.factories import BookFactory

    book = BookFactory(price="10.00", stock=10)

    def discount() -> Decimal:
        return order_quote(items=[OrderLine(book_id=book.pk, quantity=4)]).discount_total

    assert discount() == D("0.00")
    assert cache.get(TIERS_CACHE_KEY) == []
    with django_capture_on_commit_callbacks(execute=True):
        tier = discount_tier_create(min_quantity=4, percent=D("10"))
    assert cache.get(TIERS_CACHE_KEY) is None
    assert discount() == D("4.00")
    with django_capture_on_commit_callbacks(execute=True):
        discount_tier_update(tier=tier, percent=D("25"))
    assert discount() == D("10.00")
    BulkDiscountTier.objects.filter(pk=tier.pk).delete()  # a queryset delete (the admin's bulk action) too
    assert discount() == D("0.00")
    # Cached without the database: the quote that follows reads no tiers.
    cache.set(TIERS_CACHE_KEY, [(1, D("50.00"))])
    assert discount() == D("20.00")
