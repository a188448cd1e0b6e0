"""orders.pricing: pure rules, no database (API.md, "Pricing")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookstore.limits import money
from orders.pricing import CouponTerms, LineInput, Tier, highest_tier, price_order, subtotal

D = Decimal
DEFAULT_TIERS = [Tier(min_quantity=5, percent=D("5")), Tier(min_quantity=10, percent=D("10"))]


def line(book_id: int, quantity: int, price: str) -> LineInput:
    return LineInput(book_id=book_id, quantity=quantity, unit_price=D(price))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.005", "0.01"), ("0.004", "0.00"), ("1.235", "1.24"), ("1.245", "1.25"), ("2.5", "2.50"), ("-0.005", "-0.01")],
)
def test_money_rounds_half_up_to_the_cent(value, expected):
    assert money(D(value)) == D(expected)


def test_subtotal_is_sum_of_unit_price_times_quantity():
    result = price_order(lines=[line(1, 2, "12.50"), line(2, 1, "9.99")])
    assert [item.line_total for item in result.lines] == [D("25.00"), D("9.99")]
    assert result.subtotal == D("34.99")
    assert result.discounts == ()
    assert result.discount_total == D("0.00")
    assert result.total == D("34.99")


@pytest.mark.parametrize(
    ("quantity", "expected_min"), [(1, None), (4, None), (5, 5), (9, 5), (10, 10), (11, 10), (100, 10)]
)
def test_highest_reached_tier_applies(quantity, expected_min):
    tier = highest_tier(DEFAULT_TIERS, quantity)
    assert (tier.min_quantity if tier else None) == expected_min


def test_tier_counts_books_across_lines_not_lines():
    result = price_order(lines=[line(1, 3, "10.00"), line(2, 2, "10.00")], tiers=DEFAULT_TIERS)
    assert result.subtotal == D("50.00")
    assert [(d.kind, d.code, d.amount) for d in result.discounts] == [("bulk", None, D("2.50"))]
    assert result.total == D("47.50")


def test_only_the_highest_tier_applies_not_both():
    result = price_order(lines=[line(1, 10, "10.00")], tiers=DEFAULT_TIERS)
    assert [d.amount for d in result.discounts] == [D("10.00")]
    assert result.total == D("90.00")


def test_bulk_discount_is_rounded_half_up():
    # 5 % of 10.50 = 0.525 → 0.53
    result = price_order(lines=[line(1, 5, "2.10")], tiers=DEFAULT_TIERS)
    assert result.discounts[0].amount == D("0.53")
    assert result.total == D("9.97")


def test_percent_coupon_applies_after_the_bulk_discount():
    coupon = CouponTerms(code="WELCOME10", kind="percent", value=D("10"))
    result = price_order(lines=[line(1, 10, "10.00")], tiers=DEFAULT_TIERS, coupon=coupon)
    # 100.00 - 10 % bulk = 90.00; coupon 10 % of 90.00 = 9.00 (not of 100.00).
    assert [(d.kind, d.amount) for d in result.discounts] == [("bulk", D("10.00")), ("coupon", D("9.00"))]
    assert result.discount_total == D("19.00")
    assert result.total == D("81.00")


def test_coupon_rounding_is_separate_from_bulk_rounding():
    # subtotal 10.50; bulk 5 % = 0.525 → 0.53; remaining 9.97; coupon 15 % = 1.4955 → 1.50
    coupon = CouponTerms(code="X", kind="percent", value=D("15"))
    result = price_order(lines=[line(1, 5, "2.10")], tiers=DEFAULT_TIERS, coupon=coupon)
    assert [d.amount for d in result.discounts] == [D("0.53"), D("1.50")]
    assert result.total == D("8.47")


def test_fixed_coupon_takes_its_amount():
    coupon = CouponTerms(code="FIVE", kind="fixed", value=D("5"))
    result = price_order(lines=[line(1, 1, "12.00")], coupon=coupon)
    assert result.discounts[0].amount == D("5.00")
    assert result.total == D("7.00")


def test_fixed_coupon_never_takes_total_below_zero():
    coupon = CouponTerms(code="BIG", kind="fixed", value=D("50"))
    result = price_order(lines=[line(1, 1, "12.00")], coupon=coupon)
    assert result.discounts[0].amount == D("12.00")
    assert result.discount_total == D("12.00")
    assert result.total == D("0.00")


def test_hundred_percent_coupon_makes_it_free():
    coupon = CouponTerms(code="FREE", kind="percent", value=D("100"))
    result = price_order(lines=[line(1, 3, "3.33")], tiers=DEFAULT_TIERS, coupon=coupon)
    assert result.total == D("0.00")
    assert result.discount_total == result.subtotal


def test_discount_descriptions_and_json_form():
    coupon = CouponTerms(code="SAVE", kind="percent", value=D("12.5"))
    result = price_order(lines=[line(1, 5, "10.00")], tiers=DEFAULT_TIERS, coupon=coupon)
    bulk, applied = (d.as_dict() for d in result.discounts)
    assert bulk == {"kind": "bulk", "code": None, "description": bulk["description"], "amount": "2.50"}
    assert "5 %" in bulk["description"]
    assert applied["kind"] == "coupon"
    assert applied["code"] == "SAVE"
    assert "12.5 %" in applied["description"]
    assert applied["amount"] == "5.94"  # 12.5 % of 47.50 = 5.9375


def test_subtotal_helper_matches_priced_order():
    lines = [line(1, 3, "0.99"), line(2, 7, "19.95")]
    assert subtotal(lines) == price_order(lines=lines).subtotal == D("142.62")


# --- properties ---------------------------------------------------------------

prices = st.decimals(min_value=D("0.00"), max_value=D("500.00"), places=2)
quantities = st.integers(min_value=1, max_value=100)
lines_strategy = st.lists(st.tuples(quantities, prices), min_size=1, max_size=50).map(
    lambda rows: [LineInput(book_id=i + 1, quantity=q, unit_price=p) for i, (q, p) in enumerate(rows)]
)
tiers_strategy = st.lists(
    st.tuples(st.integers(min_value=1, max_value=200), st.decimals(min_value=D("0.01"), max_value=D("100"), places=2)),
    max_size=6,
    unique_by=lambda row: row[0],
).map(lambda rows: [Tier(min_quantity=q, percent=p) for q, p in rows])
coupons_strategy = st.one_of(
    st.none(),
    st.builds(
        CouponTerms,
        code=st.just("C"),
        kind=st.just("percent"),
        value=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
    ),
    st.builds(
        CouponTerms,
        code=st.just("C"),
        kind=st.just("fixed"),
        value=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    ),
)


@given(lines=lines_strategy, tiers=tiers_strategy, coupon=coupons_strategy)
def test_total_is_subtotal_minus_discounts_and_within_bounds(lines, tiers, coupon):
    result = price_order(lines=lines, tiers=tiers, coupon=coupon)
    assert result.total == result.subtotal - result.discount_total
    assert result.discount_total == sum((d.amount for d in result.discounts), D("0"))
    assert D("0.00") <= result.total <= result.subtotal
    for value in (result.subtotal, result.discount_total, result.total, *(d.amount for d in result.discounts)):
        assert value == money(value), "every amount is whole cents"
        assert value >= 0


@given(lines=lines_strategy, tiers=tiers_strategy, extra=quantities)
def test_adding_a_book_never_lowers_the_tier(lines, tiers, extra):
    before = highest_tier(tiers, sum(item.quantity for item in lines))
    more = [*lines, LineInput(book_id=len(lines) + 1, quantity=extra, unit_price=D("1.00"))]
    after = highest_tier(tiers, sum(item.quantity for item in more))
    if before is not None:
        assert after is not None
        assert after.min_quantity >= before.min_quantity


@given(quantity=st.integers(min_value=0, max_value=500), tiers=tiers_strategy)
def test_highest_tier_is_the_largest_reached(quantity, tiers):
    tier = highest_tier(tiers, quantity)
    reached = [t for t in tiers if t.min_quantity <= quantity]
    if not reached:
        assert tier is None
    else:
        assert tier is not None
        assert tier.min_quantity == max(t.min_quantity for t in reached)
