"""Order pricing: pure functions over plain dataclasses, no models, no database.

Rules (API.md, "Pricing"): subtotal = sum of unit price x quantity; the highest
bulk tier reached by the number of books applies to the subtotal; a coupon
applies to what remains; each discount is rounded half-up to the cent
(``bookstore.limits.money``); the total never goes below 0.00.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bookstore.limits import money

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

CouponKind = Literal["percent", "fixed"]
DiscountKind = Literal["bulk", "coupon"]


def _percent_text(percent: Decimal) -> str:
    text = f"{percent.normalize():f}"
    return f"{text} %"


@dataclass(frozen=True)
class LineInput:
    """A line to price: ``quantity`` copies at ``unit_price``."""

    book_id: int
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Tier:
    """Bulk discount: ``percent`` off when the order holds at least ``min_quantity`` books."""

    min_quantity: int
    percent: Decimal


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon takes off: ``value`` percent, or ``value`` money."""

    code: str
    kind: CouponKind
    value: Decimal


@dataclass(frozen=True)
class PricedLine:
    book_id: int
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class Discount:
    kind: DiscountKind
    code: str | None
    description: str
    amount: Decimal

    def as_dict(self) -> dict[str, str | None]:
        """The JSON form stored on the order and returned by the API (money as a string)."""
        return {"kind": self.kind, "code": self.code, "description": self.description, "amount": str(self.amount)}


@dataclass(frozen=True)
class PriceResult:
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discounts: tuple[Discount, ...]
    discount_total: Decimal
    total: Decimal

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


def subtotal(lines: Iterable[LineInput]) -> Decimal:
    """Sum of ``unit_price x quantity`` over ``lines``."""
    return sum((money(line.unit_price * line.quantity) for line in lines), ZERO)


def highest_tier(tiers: Iterable[Tier], quantity: int) -> Tier | None:
    """The tier with the largest ``min_quantity`` that ``quantity`` books reach, if any."""
    reached = [tier for tier in tiers if tier.min_quantity <= quantity]
    return max(reached, key=lambda tier: tier.min_quantity) if reached else None


def _bulk_discount(tier: Tier, base: Decimal) -> Discount:
    amount = min(money(base * tier.percent / HUNDRED), base)
    return Discount(
        kind="bulk",
        code=None,
        description=f"Bulk discount: {_percent_text(tier.percent)} off {tier.min_quantity} or more books",
        amount=amount,
    )


def _coupon_discount(coupon: CouponTerms, remaining: Decimal) -> Discount:
    if coupon.kind == "percent":
        amount = money(remaining * coupon.value / HUNDRED)
        description = f"Coupon {coupon.code}: {_percent_text(coupon.value)} off"
    else:
        amount = money(coupon.value)
        description = f"Coupon {coupon.code}: {amount} off"
    # A coupon never takes the total below 0.00.
    return Discount(kind="coupon", code=coupon.code, description=description, amount=min(amount, remaining))


def price_order(
    *, lines: Sequence[LineInput], tiers: Iterable[Tier] = (), coupon: CouponTerms | None = None
) -> PriceResult:
    """Price ``lines`` with the highest reached bulk tier and then ``coupon``."""
    priced = tuple(
        PricedLine(
            book_id=line.book_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=money(line.unit_price * line.quantity),
        )
        for line in lines
    )
    order_subtotal = subtotal(lines)
    discounts: list[Discount] = []
    remaining = order_subtotal
    tier = highest_tier(tiers, sum(line.quantity for line in priced))
    if tier is not None:
        bulk = _bulk_discount(tier, remaining)
        discounts.append(bulk)
        remaining -= bulk.amount
    if coupon is not None:
        applied = _coupon_discount(coupon, remaining)
        discounts.append(applied)
        remaining -= applied.amount
    discount_total = sum((discount.amount for discount in discounts), ZERO)
    return PriceResult(
        lines=priced,
        subtotal=order_subtotal,
        discounts=tuple(discounts),
        discount_total=discount_total,
        total=order_subtotal - discount_total,
    )
