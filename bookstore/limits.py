"""Value limits and the money rule that every app shares; pure Python, no Django, no DRF.

They live here, beside ``bookstore/exceptions.py``, rather than in an app: an id
limit is a property of every table's 64-bit primary key (users, books, orders),
and money is the one shape of every price and total column (``DecimalField(
max_digits=10, decimal_places=2)``) in catalog and orders alike. Putting them in
``catalog`` would make ``accounts`` reach upwards the day it needs them, and in
``orders`` would make ``catalog`` import ``orders``. Like the error bases, this
module imports nothing from the project, so any layer may import it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: Ids are 64-bit; a larger number is refused as input instead of overflowing in the database driver.
MAX_ID = 2**63 - 1

#: The money columns: ``DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)``.
MONEY_MAX_DIGITS = 10
MONEY_DECIMAL_PLACES = 2
CENT = Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)
#: The largest amount a money column holds (99999999.99).
MAX_PRICE = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - CENT


def money(value: Decimal) -> Decimal:
    """Round to the cent, half-up: the one rounding rule for money in the store."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
