"""orders.services.coupon_create / coupon_update: every coupon rule, for whichever caller."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError

from orders.exceptions import CouponCodeTaken, CouponInvalid
from orders.models import Coupon
from orders.services import coupon_code_clean, coupon_create, coupon_update
from orders.services import coupons as coupon_services
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db

D = Decimal
JAN, FEB = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


def test_create_stores_every_field_and_strips_the_code():
    coupon = coupon_create(
        code="  Spring10 ",
        kind="percent",
        value=D("10"),
        starts_at=JAN,
        ends_at=FEB,
        min_subtotal=D("20"),
        max_uses=5,
        is_active=False,
    )
    stored = Coupon.objects.get(pk=coupon.pk)
    assert (stored.code, stored.kind, stored.value, stored.starts_at, stored.ends_at) == (
        "Spring10",
        "percent",
        D("10.00"),
        JAN,
        FEB,
    )
    assert (stored.min_subtotal, stored.max_uses, stored.is_active) == (D("20.00"), 5, False)


def test_create_defaults_leave_the_coupon_unbounded_and_active():
    coupon = coupon_create(code="PLAIN", kind="fixed", value=D("5"))
    assert (coupon.starts_at, coupon.ends_at, coupon.min_subtotal, coupon.max_uses, coupon.is_active) == (
        None,
        None,
        None,
        None,
        True,
    )


def test_a_code_taken_in_another_case_is_refused_on_the_code_field():
    CouponFactory(code="Spring")
    with pytest.raises(CouponCodeTaken) as caught:
        coupon_create(code=" SPRING ", kind="fixed", value=D("1"))
    assert caught.value.details == {"code": ["A coupon with this code exists (codes are case-insensitive)."]}
    assert caught.value.message == "Invalid input: code: A coupon with this code exists (codes are case-insensitive)."
    assert (caught.value.status_code, caught.value.code) == (400, "validation_error")
    assert Coupon.objects.count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "percent", "value": D("100.01")}, "value"),
        ({"kind": "percent", "value": D("0")}, "value"),
        ({"kind": "fixed", "value": D("-1")}, "value"),
        ({"kind": "bogus", "value": D("5")}, "kind"),
        ({"kind": "fixed", "value": D("5"), "starts_at": FEB, "ends_at": JAN}, "ends_at"),
        ({"kind": "fixed", "value": D("5"), "min_subtotal": D("-1")}, "min_subtotal"),
        ({"kind": "fixed", "value": D("1.005")}, "value"),
    ],
)
def test_values_breaking_a_rule_are_refused_naming_the_field_and_nothing_is_written(values, field):
    with pytest.raises(CouponInvalid) as caught:
        coupon_create(code="BAD", **values)
    assert field in caught.value.details
    assert not Coupon.objects.exists()


def test_a_percent_coupon_above_100_reads_as_the_model_rule():
    with pytest.raises(CouponInvalid) as caught:
        coupon_create(code="TOO-MUCH", kind="percent", value=D("150"))
    assert caught.value.details == {"value": ["A percent coupon cannot take more than 100 %."]}


def test_a_blank_code_is_refused():
    with pytest.raises(CouponInvalid) as caught:
        coupon_create(code="   ", kind="fixed", value=D("1"))
    assert list(caught.value.details) == ["code"]
    assert not Coupon.objects.exists()


def test_update_changes_only_the_given_fields_and_keeps_its_own_code_in_another_case():
    coupon = CouponFactory(code="Keep", kind="fixed", value=D("150.00"), max_uses=3)
    updated = coupon_update(coupon=coupon, code="KEEP", is_active=False)
    stored = Coupon.objects.get(pk=coupon.pk)
    assert updated.pk == stored.pk
    assert (stored.code, stored.is_active, stored.kind, stored.value, stored.max_uses) == (
        "KEEP",
        False,
        "fixed",
        D("150.00"),
        3,
    )


def test_update_checks_the_rules_on_the_result_and_writes_nothing_when_refused():
    coupon = CouponFactory(code="Keep", kind="fixed", value=D("150.00"))
    CouponFactory(code="Other")
    with pytest.raises(CouponInvalid) as caught:
        coupon_update(coupon=Coupon.objects.get(pk=coupon.pk), kind="percent")  # 150 % is too much
    assert list(caught.value.details) == ["value"]
    with pytest.raises(CouponCodeTaken):
        coupon_update(coupon=Coupon.objects.get(pk=coupon.pk), code="other")
    stored = Coupon.objects.get(pk=coupon.pk)
    assert (stored.code, stored.kind) == ("Keep", "fixed")


def test_a_code_stored_by_a_concurrent_request_after_the_check_is_still_code_taken(monkeypatch):
    CouponFactory(code="RACE")
    real, checks = coupon_services._code_taken, []

    def first_check_misses(code, **kwargs):
        checks.append(code)
        return len(checks) > 1 and real(code, **kwargs)

    monkeypatch.setattr(coupon_services, "_code_taken", first_check_misses)
    with pytest.raises(CouponCodeTaken) as caught:
        coupon_create(code="race", kind="fixed", value=D("1"))
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert Coupon.objects.count() == 1


def test_code_clean_is_the_check_the_admin_form_runs():
    coupon = CouponFactory(code="Mine")
    assert coupon_code_clean(code=" mine ", coupon=coupon) == "mine"
    assert coupon_code_clean(code="fresh") == "fresh"
    with pytest.raises(CouponCodeTaken):
        coupon_code_clean(code="MINE")
