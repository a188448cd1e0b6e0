"""orders.tax, orders.shipping and orders.totals: pure rules, no database (API.md, "Checkout additions")."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.pricing import CouponTerms, LineInput, Tier
from orders.shipping import ShippingTerms, shipping_cost
from orders.tax import TaxLine, TaxRate, TaxRates, contained_tax, order_tax, tax_lines
from orders.totals import order_totals

D = Decimal
VAT = TaxRates(books=TaxRate(D("7"), "VAT"), shipping=TaxRate(D("19"), "VAT"))


# --- tax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "rate", "tax"),
    [
        ("107.00", "7", "7.00"),
        ("119.00", "19", "19.00"),
        ("10.00", "7", "0.65"),  # 0.6542...
        ("4.95", "19", "0.79"),  # 0.7903...
        ("0.08", "7", "0.01"),  # 0.00523... rounds up at the cent
        ("0.07", "7", "0.00"),  # 0.00457...
        ("100.00", "0", "0.00"),
        ("12.50", "25", "2.50"),
    ],
)
def test_contained_tax_is_gross_times_rate_over_100_plus_rate_rounded_half_up(gross, rate, tax):
    assert contained_tax(D(gross), D(rate)) == D(tax)


def test_contained_tax_rounds_an_exact_half_cent_up():
    # At 100 %, 1.01 contains exactly 0.505: half-up gives 0.51 (half-even would give 0.50).
    assert contained_tax(D("1.01"), D("100")) == D("0.51")


def test_order_tax_one_line_per_rate_books_then_shipping():
    lines = order_tax(rates=VAT, items_total=D("85.00"), shipping=D("4.95"))
    assert lines == (TaxLine(D("7"), "VAT", D("5.56")), TaxLine(D("19"), "VAT", D("0.79")))
    assert [line.as_dict() for line in lines] == [
        {"rate": "7.00", "label": "VAT", "amount": "5.56"},
        {"rate": "19.00", "label": "VAT", "amount": "0.79"},
    ]


def test_no_line_for_a_rate_with_nothing_to_tax():
    assert order_tax(rates=VAT, items_total=D("10.00"), shipping=D("0.00")) == (TaxLine(D("7"), "VAT", D("0.65")),)
    assert order_tax(rates=VAT, items_total=D("0.00"), shipping=D("0.00")) == ()


def test_equal_rates_share_one_line_rounded_once():
    same = TaxRates(books=TaxRate(D("19"), "VAT books"), shipping=TaxRate(D("19"), "VAT shipping"))
    # One line, with the first label: 0.10 x 19/119 = 0.0160 → 0.02.
    assert order_tax(rates=same, items_total=D("0.05"), shipping=D("0.05")) == (
        TaxLine(D("19"), "VAT books", D("0.02")),
    )
    # Rounded once: 0.10 x 7/107 = 0.0065 → 0.01, where rounding each 0.05 (0.0033 → 0.00) would give 0.00.
    assert tax_lines([(TaxRate(D("7"), "A"), D("0.05")), (TaxRate(D("7"), "B"), D("0.05"))]) == (
        TaxLine(D("7"), "A", D("0.01")),
    )


# --- shipping -----------------------------------------------------------------


def test_pickup_ships_for_nothing():
    assert shipping_cost(None, items_total=D("10.00")) == D("0.00")


def test_shipping_costs_the_price_below_the_threshold_and_nothing_from_it():
    terms = ShippingTerms(price=D("4.95"), free_over=D("50.00"))
    assert shipping_cost(terms, items_total=D("49.99")) == D("4.95")
    assert shipping_cost(terms, items_total=D("50.00")) == D("0.00")
    assert shipping_cost(ShippingTerms(price=D("4.95")), items_total=D("1000.00")) == D("4.95")


def test_the_threshold_looks_at_the_books_after_discounts():
    lines = [LineInput(book_id=1, quantity=6, unit_price=D("10.00"))]
    terms = ShippingTerms(price=D("4.95"), free_over=D("60.00"))

    without = order_totals(lines=lines, shipping=terms, rates=VAT)
    with_bulk = order_totals(lines=lines, tiers=[Tier(5, D("5"))], shipping=terms, rates=VAT)

    assert (without.items_total, without.shipping, without.total) == (D("60.00"), D("0.00"), D("60.00"))
    assert (with_bulk.items_total, with_bulk.shipping, with_bulk.total) == (D("57.00"), D("4.95"), D("61.95"))


# --- the property over baskets ----------------------------------------------------


def _exact_contained_tax(gross: Decimal, rate: Decimal) -> Decimal:
    """The oracle: exact rational arithmetic, then half-up to the cent (amounts are never negative)."""
    cents = Fraction(gross) * Fraction(rate) / (100 + Fraction(rate)) * 100
    return (D(math.floor(cents + Fraction(1, 2))) / 100).quantize(D("0.01"))


money = st.decimals(min_value=D("0.01"), max_value=D("500.00"), places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=D("0"), max_value=D("99.99"), places=2, allow_nan=False, allow_infinity=False)
baskets = st.lists(st.tuples(st.integers(min_value=1, max_value=100), money), min_size=1, max_size=50).map(
    lambda pairs: [LineInput(book_id=i, quantity=q, unit_price=p) for i, (q, p) in enumerate(pairs, start=1)]
)
tier_lists = st.lists(
    st.builds(
        Tier,
        min_quantity=st.integers(min_value=1, max_value=200),
        percent=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
    ),
    max_size=3,
    unique_by=lambda tier: tier.min_quantity,
)
coupons = st.none() | st.builds(
    CouponTerms,
    code=st.just("C"),
    kind=st.sampled_from(["percent", "fixed"]),
    value=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
)
shippings = st.none() | st.builds(ShippingTerms, price=money | st.just(D("0.00")), free_over=st.none() | money)


@settings(max_examples=300, deadline=None)
@given(
    lines=baskets,
    tiers=tier_lists,
    coupon=coupons,
    shipping=shippings,
    book_rate=rates,
    shipping_rate=rates,
)
def test_totals_and_contained_tax_hold_for_any_basket(lines, tiers, coupon, shipping, book_rate, shipping_rate):
    totals = order_totals(
        lines=lines,
        tiers=tiers,
        coupon=coupon,
        shipping=shipping,
        rates=TaxRates(books=TaxRate(book_rate, "books"), shipping=TaxRate(shipping_rate, "shipping")),
    )
    items = totals.items

    assert totals.total == items.subtotal - items.discount_total + totals.shipping
    assert totals.total >= totals.shipping >= 0
    assert totals.shipping in {D("0.00"), shipping.price if shipping else D("0.00")}

    # The tax at each rate is what the gross amounts at that rate contain, to the cent.
    gross_at: dict[Decimal, Decimal] = {}
    gross_at[book_rate] = gross_at.get(book_rate, D(0)) + items.subtotal - items.discount_total
    gross_at[shipping_rate] = gross_at.get(shipping_rate, D(0)) + totals.shipping
    expected = {rate: _exact_contained_tax(gross, rate) for rate, gross in gross_at.items() if gross > 0}
    assert {line.rate: line.amount for line in totals.tax} == expected
    assert len(totals.tax) == len(expected)
    assert sum((line.amount for line in totals.tax), D(0)) <= totals.total
