"""The orders half of the demo store: coupons, and orders over the last 90 days with their history.

Orders draw from the books the catalog half generated (``BookSpec``), take their
copies out of the books' stock, use coupons only while valid, and are priced by
the store's own pricing rules.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from orders import pricing
from orders.management.commands._demo_catalog import BATCH_SIZE, BookSpec, batched
from orders.management.commands._demo_vocabulary import COUPONS, USED_UP_COUPON
from orders.models import Coupon, Order, OrderItem, StatusChange

HISTORY_DAYS = 90


@dataclass(slots=True)
class OrderSpec:
    customer: int
    created_at: datetime
    status: str
    lines: list[tuple[int, int]]  # (book index, quantity)
    coupon: int | None
    history: list[tuple[str, str, datetime, bool]] = field(default_factory=list)  # from, to, at, by staff


class DemoOrders:
    """Draws orders from the store's ``rng``; ``tiers`` are the store's bulk discount tiers."""

    def __init__(self, *, rng: random.Random, orders: int, now: datetime, tiers: list[pricing.Tier]) -> None:
        self.rng = rng
        self.n_orders = orders
        self.now = now
        self.tiers = tiers

    # --- generation (pure, in memory) ----------------------------------------------------------

    def _status_and_history(self, created_at: datetime) -> tuple[str, list[tuple[str, str, datetime, bool]]]:
        """A status plausible for the order's age, and the dated steps that led to it."""
        rng = self.rng
        age_days = (self.now - created_at).total_seconds() / 86400
        if age_days > 10:
            weights = {"delivered": 78, "shipped": 4, "cancelled": 12, "paid": 3, "pending": 3}
        elif age_days > 3:
            weights = {"delivered": 30, "shipped": 35, "cancelled": 10, "paid": 15, "pending": 10}
        else:
            weights = {"delivered": 0, "shipped": 15, "cancelled": 10, "paid": 35, "pending": 40}
        status = rng.choices(list(weights), weights=list(weights.values()))[0]
        return status, self._history(created_at, status)

    def _history(self, created_at: datetime, status: str) -> list[tuple[str, str, datetime, bool]]:
        rng = self.rng
        steps: list[tuple[str, str, datetime, bool]] = [("", "pending", created_at, False)]
        path = {
            "pending": [],
            "paid": ["paid"],
            "shipped": ["paid", "shipped"],
            "delivered": ["paid", "shipped", "delivered"],
            "cancelled": rng.choice((["cancelled"], ["paid", "cancelled"])),
        }[status]
        gaps = {"paid": (0.02, 0.5), "shipped": (0.5, 2.5), "delivered": (1.0, 5.0), "cancelled": (0.05, 2.0)}
        at, previous = created_at, "pending"
        for to_status in path:
            low, high = gaps[to_status]
            # Squeeze the steps of recent orders into the time they have had.
            room = max((self.now - at).total_seconds() / 86400 / (len(path) + 1), 0.001)
            at += timedelta(days=min(rng.uniform(low, high), room))
            by_staff = to_status != "cancelled" or rng.random() < 0.3
            steps.append((previous, to_status, at, by_staff))
            previous = to_status
        return steps

    def orders(self, books: list[BookSpec], n_customers: int, coupons: Sequence[Coupon]) -> list[OrderSpec]:
        rng = self.rng
        active = [index for index, book in enumerate(books) if book.is_active]
        remaining = [book.stock for book in books]
        uses = [0] * len(coupons)
        used_up = next(index for index, coupon in enumerate(coupons) if coupon.code == USED_UP_COUPON)
        # Bestsellers: most orders draw from a small part of the catalog.
        popular = active[: max(1, min(len(active), 300))]
        ages = sorted((rng.uniform(0, HISTORY_DAYS) for _ in range(self.n_orders)), reverse=True)
        statuses = ["pending", "paid", "shipped", "delivered", "cancelled"]
        orders: list[OrderSpec] = []
        for number, age in enumerate(ages):
            created_at = self.now - timedelta(days=age)
            status, history = self._status_and_history(created_at)
            if number < len(statuses) and self.n_orders >= len(statuses) * 4:
                # Every status appears at least once in any store of a reasonable size.
                status = statuses[(number * 3) % len(statuses)]
                history = self._history(created_at, status)
            wanted = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
            lines: dict[int, int] = {}
            for _ in range(wanted * 10):  # bounded: sold-out books are skipped
                pool = popular if rng.random() < 0.6 else active
                book = pool[rng.randrange(len(pool))]
                quantity = rng.choices((1, 2, 3, 5, 10), weights=(75, 15, 6, 3, 1))[0]
                if book not in lines and remaining[book] >= quantity:
                    lines[book] = quantity
                    if len(lines) == wanted:
                        break
            if not lines:
                continue
            coupon = None
            subtotal = sum((books[b].price * q for b, q in lines.items()), Decimal(0))
            if status != "cancelled" and self._usable(coupons, used_up, uses, created_at, subtotal):
                # The oldest orders use this coupon up, so the store shows a coupon in that state too.
                coupon = used_up
                uses[used_up] += 1
            elif rng.random() < 0.2:
                coupon = self._pick_coupon(coupons, uses, created_at, subtotal, status)
            if status != "cancelled":
                for book, quantity in lines.items():
                    remaining[book] -= quantity
            customer = rng.randrange(n_customers)
            orders.append(OrderSpec(customer, created_at, status, list(lines.items()), coupon, history))
        for spec, stock in zip(books, remaining, strict=True):
            spec.stock = stock
        return orders

    @staticmethod
    def _usable(coupons: Sequence[Coupon], index: int, uses: list[int], at: datetime, subtotal: Decimal) -> bool:
        coupon = coupons[index]
        return (
            coupon.is_active
            and (coupon.starts_at is None or coupon.starts_at <= at)
            and (coupon.ends_at is None or at < coupon.ends_at)
            and (coupon.min_subtotal is None or subtotal >= coupon.min_subtotal)
            and (coupon.max_uses is None or uses[index] < coupon.max_uses)
        )

    def _pick_coupon(
        self, coupons: Sequence[Coupon], uses: list[int], at: datetime, subtotal: Decimal, status: str
    ) -> int | None:
        candidates = [index for index in range(len(coupons)) if self._usable(coupons, index, uses, at, subtotal)]
        if not candidates:
            return None
        index = self.rng.choice(candidates)
        if status != "cancelled":
            uses[index] += 1
        return index

    # --- writing -------------------------------------------------------------------------------

    def write_coupons(self) -> list[Coupon]:
        coupons = [
            Coupon(
                code=code,
                kind=kind,
                value=Decimal(value),
                starts_at=self.now - timedelta(days=starts),
                ends_at=None if ends is None else self.now - timedelta(days=ends),
                min_subtotal=None if minimum is None else Decimal(minimum),
                max_uses=max_uses,
                is_active=is_active,
            )
            for code, kind, value, starts, ends, minimum, max_uses, is_active in COUPONS
        ]
        return Coupon.objects.bulk_create(coupons)

    def write(
        self,
        orders: list[OrderSpec],
        books: list[BookSpec],
        book_ids: list[int],
        customers: list[Any],
        staff: Any,
        coupons: list[Coupon],
    ) -> None:
        for offset, batch in enumerate(batched(orders, BATCH_SIZE)):
            rows: list[Order] = []
            prices: list[pricing.PriceResult] = []
            for index, spec in enumerate(batch, start=offset * BATCH_SIZE):
                coupon = coupons[spec.coupon] if spec.coupon is not None else None
                priced = pricing.price_order(
                    lines=[pricing.LineInput(book_ids[b], q, books[b].price) for b, q in spec.lines],
                    tiers=self.tiers,
                    coupon=(
                        pricing.CouponTerms(coupon.code, cast(pricing.CouponKind, coupon.kind), coupon.value)
                        if coupon
                        else None
                    ),
                )
                prices.append(priced)
                rows.append(
                    Order(
                        # A placeholder until the id is known; the number is derived from it below.
                        number=f"seed-{index}",
                        user=customers[spec.customer],
                        status=spec.status,
                        subtotal=priced.subtotal,
                        discount_total=priced.discount_total,
                        total=priced.total,
                        coupon=coupon,
                        coupon_code=coupon.code if coupon else "",
                        discounts=[discount.as_dict() for discount in priced.discounts],
                    )
                )
            created = Order.objects.bulk_create(rows)
            # created_at / updated_at / at are auto_now(_add) on insert; history needs its own dates.
            for order, spec in zip(created, batch, strict=True):
                order.number = Order.format_number(order.pk, spec.created_at.year)
                order.created_at = spec.created_at
                order.updated_at = spec.history[-1][2]
            Order.objects.bulk_update(created, ["number", "created_at", "updated_at"])
            OrderItem.objects.bulk_create(
                [
                    OrderItem(
                        order=order,
                        book_id=line.book_id,
                        isbn=books[b].isbn,
                        title=books[b].title,
                        unit_price=line.unit_price,
                        quantity=line.quantity,
                        line_total=line.line_total,
                    )
                    for order, spec, priced in zip(created, batch, prices, strict=True)
                    for (b, _), line in zip(spec.lines, priced.lines, strict=True)
                ]
            )
            changes = StatusChange.objects.bulk_create(
                [
                    StatusChange(
                        order=order,
                        from_status=from_status,
                        to_status=to_status,
                        by=staff if by_staff else customers[spec.customer],
                    )
                    for order, spec in zip(created, batch, strict=True)
                    for from_status, to_status, _, by_staff in spec.history
                ]
            )
            dates = (at for spec in batch for _, _, at, _ in spec.history)
            for change, at in zip(changes, dates, strict=True):
                change.at = at
            StatusChange.objects.bulk_update(changes, ["at"], batch_size=500)
