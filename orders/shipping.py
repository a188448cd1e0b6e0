"""Shipping cost: a pure rule over plain values, no models, no database.

A method costs its ``price`` (tax included), unless it has a free-shipping
threshold ``free_over`` and the books, after every discount, cost at least
that much. The threshold looks at what the customer pays for the books, so a
coupon that takes the basket below it brings the shipping charge back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ShippingTerms:
    """What a shipping method charges: ``price``, or nothing from ``free_over`` on (if set)."""

    price: Decimal
    free_over: Decimal | None = None


def shipping_cost(terms: ShippingTerms | None, *, items_total: Decimal) -> Decimal:
    """The shipping charge for books costing ``items_total`` after discounts; ``None`` (pickup) is free."""
    if terms is None:
        return ZERO
    if terms.free_over is not None and items_total >= terms.free_over:
        return ZERO
    return terms.price
