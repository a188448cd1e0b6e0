"""Tax contained in gross prices: pure functions, no models, no database.

Prices include tax (API.md, "Checkout additions"). The tax a gross amount
contains at ``rate`` percent is ``gross x rate / (100 + rate)``, rounded
half-up to the cent with the store's one money rule.

How the order's gross amounts meet the rates:

- **Books** are taxed at the book rate on what the customer pays for them:
  the items' subtotal minus every discount. Discounts (bulk tier, coupon)
  apply to the books' subtotal only, so the whole discount reduces the book
  rate's base; all books share one rate, so there is nothing to split
  between lines.
- **Shipping** is taxed at the shipping rate on the shipping charge; it is
  never discounted.

Amounts at the same rate are added up before the tax is taken out (one line
per rate, like a receipt), so each line is rounded once. A rate with nothing
to tax (pickup, a free basket) shows no line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bookstore.limits import money

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TaxRate:
    """A tax rate in percent (``Decimal("7")`` is 7 %) and the label printed beside it."""

    rate: Decimal
    label: str


@dataclass(frozen=True)
class TaxRates:
    """The rates an order uses: one for books, one for shipping."""

    books: TaxRate
    shipping: TaxRate


@dataclass(frozen=True)
class TaxLine:
    """The tax contained in the order's gross amounts at one rate."""

    rate: Decimal
    label: str
    amount: Decimal

    def as_dict(self) -> dict[str, str]:
        """The JSON form stored on the order and returned by the API (decimals as strings)."""
        return {"rate": f"{self.rate.quantize(Decimal('0.01'))}", "label": self.label, "amount": str(self.amount)}


def contained_tax(gross: Decimal, rate: Decimal) -> Decimal:
    """The tax contained in the tax-inclusive amount ``gross`` at ``rate`` percent, to the cent."""
    return money(gross * rate / (HUNDRED + rate))


def tax_lines(amounts: Iterable[tuple[TaxRate, Decimal]]) -> tuple[TaxLine, ...]:
    """One line per rate for ``(rate, gross amount)`` pairs; same rates add up, zero bases are left out.

    Lines come in the order their rate first appears; the label is the first one given for the rate.
    """
    bases: dict[Decimal, tuple[str, Decimal]] = {}
    for tax_rate, gross in amounts:
        label, base = bases.get(tax_rate.rate, (tax_rate.label, ZERO))
        bases[tax_rate.rate] = (label, base + gross)
    return tuple(
        TaxLine(rate=rate, label=label, amount=contained_tax(base, rate))
        for rate, (label, base) in bases.items()
        if base > 0
    )


def order_tax(*, rates: TaxRates, items_total: Decimal, shipping: Decimal) -> tuple[TaxLine, ...]:
    """The tax lines of an order whose books cost ``items_total`` after discounts, plus ``shipping``."""
    return tax_lines([(rates.books, items_total), (rates.shipping, shipping)])
