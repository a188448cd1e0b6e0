"""An order's totals: its books (``pricing``), shipping (``shipping``) and the tax contained (``tax``).

Pure, like the modules it combines: no models, no database. ``total`` is what
the customer pays: the books after discounts plus shipping; prices include
tax, so the tax lines are contained in it, never added to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from orders import pricing
from orders.shipping import ShippingTerms, shipping_cost
from orders.tax import TaxLine, TaxRates, order_tax


@dataclass(frozen=True)
class OrderTotals:
    """The priced books (``items``) and what shipping and tax make of them."""

    items: pricing.PriceResult
    shipping: Decimal
    tax: tuple[TaxLine, ...]

    @property
    def items_total(self) -> Decimal:
        """The books after every discount."""
        return self.items.total

    @property
    def total(self) -> Decimal:
        return self.items.total + self.shipping


def order_totals(
    *,
    lines: Sequence[pricing.LineInput],
    tiers: Iterable[pricing.Tier] = (),
    coupon: pricing.CouponTerms | None = None,
    shipping: ShippingTerms | None = None,
    rates: TaxRates,
) -> OrderTotals:
    """Price ``lines`` (bulk tier, then coupon), charge ``shipping`` (``None``: pickup), take out the tax."""
    items = pricing.price_order(lines=lines, tiers=tiers, coupon=coupon)
    charge = shipping_cost(shipping, items_total=items.total)
    return OrderTotals(
        items=items, shipping=charge, tax=order_tax(rates=rates, items_total=items.total, shipping=charge)
    )
