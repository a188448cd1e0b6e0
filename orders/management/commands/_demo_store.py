"""The demo store of ``seed_demo``: generated in memory from one seed, then written in bulk.

Same seed, same store: every value comes from one seeded ``random.Random`` and
one seeded Faker, drawn in a fixed order (books are drawn before orders, so
the catalog does not depend on the number of orders); only the timestamps move
with the day it runs (orders span the 90 days before "now").
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from faker import Faker

from catalog.bulk import books_upsert
from catalog.fields import BOOK_COLUMN_FIELDS
from catalog.importing import OPTIONAL_COLUMNS, BookRow
from catalog.isbn import isbn13_check_digit
from catalog.models import Author, Book, BookAuthor, Genre
from orders import pricing
from orders.management.commands._demo_vocabulary import ADJECTIVES, COUPONS, GENRES, LANGUAGES, NOUNS, SUBTITLES
from orders.models import BulkDiscountTier, Coupon, IdempotencyKey, Order, OrderItem, StatusChange

BATCH_SIZE = 2000
DEMO_EMAIL_DOMAIN = "demo.bookstore.local"
#: Demo customers can log in with this password (the store is a local demo).
DEMO_CUSTOMER_PASSWORD = "demo-customer-2026"  # noqa: S105 (documented demo credential)
DEMO_STAFF_EMAIL = f"fulfilment@{DEMO_EMAIL_DOMAIN}"
HISTORY_DAYS = 90


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _isbn13(body12: str) -> str:
    return body12 + isbn13_check_digit(body12)


@dataclass(slots=True)
class _BookSpec:
    isbn: str
    title: str
    subtitle: str
    description: str
    authors: tuple[int, ...]  # indexes into the author list
    genres: tuple[int, ...]
    publisher: str
    published_date: date
    language: str
    page_count: int
    price: Decimal
    stock: int
    is_active: bool


#: The book fields a spec holds as they are written (authors and genres it holds as indexes).
_SPEC_COLUMNS = tuple(name for name in BOOK_COLUMN_FIELDS if name in _BookSpec.__dataclass_fields__)


@dataclass(slots=True)
class _OrderSpec:
    customer: int
    created_at: datetime
    status: str
    lines: list[tuple[int, int]]  # (book index, quantity)
    coupon: int | None
    history: list[tuple[str, str, datetime, bool]] = field(default_factory=list)  # from, to, at, by staff


def _batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DemoStore:
    """Generates the whole demo store from ``seed``, then writes it in batches."""

    def __init__(self, *, seed: int, books: int, orders: int, now: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.n_books = books
        self.n_orders = orders
        self.now = now
        self.tiers = [pricing.Tier(tier.min_quantity, tier.percent) for tier in BulkDiscountTier.objects.all()]

    # --- generation (pure, in memory) ----------------------------------------------------------

    def _author_names(self, count: int) -> list[str]:
        firsts = [self.fake.first_name() for _ in range(400)]
        lasts = [self.fake.last_name() for _ in range(600)]
        initials = "ABCDEFGHJKLMNPRSTW"
        names: dict[str, None] = {}
        while len(names) < count:
            first, last = self.rng.choice(firsts), self.rng.choice(lasts)
            name = f"{first} {last}"
            if name in names:
                name = f"{first} {self.rng.choice(initials)}. {last}"
            names[name] = None
        return list(names)

    def _title(self, places: Sequence[str], firsts: Sequence[str]) -> str:
        rng = self.rng
        adj, noun, other = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(NOUNS)
        return rng.choice(
            (
                f"The {adj} {noun}",
                f"The {noun} of {rng.choice(places)}",
                f"{noun} and {other}",
                f"{rng.choice(firsts)}'s {noun}",
                f"The Last {noun}",
                f"{adj} {noun}s",
                f"Beyond the {adj} {noun}",
                f"The {noun} in the {other}",
                f"A {noun} for {rng.choice(firsts)}",
                f"Notes on the {noun}",
                f"{adj} {places[rng.randrange(len(places))]}",
            )
        )

    def _books(self, n_authors: int) -> list[_BookSpec]:
        rng, fake = self.rng, self.fake
        places = [fake.city() for _ in range(150)] + [fake.country() for _ in range(50)]
        firsts = [fake.first_name() for _ in range(150)]
        descriptions = [fake.paragraph(nb_sentences=5) for _ in range(400)]
        publishers = sorted(
            {f"{fake.last_name()} {rng.choice(('Press', 'Books', 'House', '& Sons'))}" for _ in range(40)}
        )
        bodies = rng.sample(range(10**9), self.n_books)
        oldest = date(1950, 1, 1).toordinal()
        newest = (self.now.date() - timedelta(days=30)).toordinal()
        specs: list[_BookSpec] = []
        for index in range(self.n_books):
            # The first pass over the authors gives everyone a book; the rest spread at random.
            first_author = index if index < n_authors else rng.randrange(n_authors)
            extra = rng.choices((0, 1, 2), weights=(85, 12, 3))[0]
            authors = tuple(dict.fromkeys([first_author, *(rng.randrange(n_authors) for _ in range(extra))]))
            genres = tuple(sorted(rng.sample(range(len(GENRES)), rng.choice((1, 1, 2)))))
            subtitle = ""
            if rng.random() < 0.3:
                subtitle = rng.choice(SUBTITLES).format(
                    place=rng.choice(places), adj=rng.choice(ADJECTIVES), noun=rng.choice(NOUNS), n=rng.randint(1, 5)
                )
            price = Decimal(rng.randint(3, 45)) + rng.choice((Decimal("0.99"), Decimal("0.49"), Decimal("0.00")))
            specs.append(
                _BookSpec(
                    isbn=_isbn13(f"{rng.choice((978, 978, 978, 979))}{bodies[index]:09d}"),
                    title=self._title(places, firsts),
                    subtitle=subtitle,
                    description=rng.choice(descriptions),
                    authors=authors,
                    genres=genres,
                    publisher=rng.choice(publishers),
                    published_date=date.fromordinal(rng.randint(oldest, newest)),
                    language=rng.choice(LANGUAGES),
                    page_count=rng.randint(64, 960),
                    price=price,
                    stock=0 if rng.random() < 0.08 else rng.randint(1, 80),
                    is_active=rng.random() > 0.03,
                )
            )
        return specs

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

    def _orders(self, books: list[_BookSpec], n_customers: int, coupons: Sequence[Coupon]) -> list[_OrderSpec]:
        rng = self.rng
        active = [index for index, book in enumerate(books) if book.is_active]
        remaining = [book.stock for book in books]
        uses = [0] * len(coupons)
        # Bestsellers: most orders draw from a small part of the catalog.
        popular = active[: max(1, min(len(active), 300))]
        ages = sorted((rng.uniform(0, HISTORY_DAYS) for _ in range(self.n_orders)), reverse=True)
        statuses = ["pending", "paid", "shipped", "delivered", "cancelled"]
        orders: list[_OrderSpec] = []
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
            if rng.random() < 0.2:
                subtotal = sum((books[b].price * q for b, q in lines.items()), Decimal(0))
                coupon = self._pick_coupon(coupons, uses, created_at, subtotal, status)
            if status != "cancelled":
                for book, quantity in lines.items():
                    remaining[book] -= quantity
            customer = rng.randrange(n_customers)
            orders.append(_OrderSpec(customer, created_at, status, list(lines.items()), coupon, history))
        for spec, stock in zip(books, remaining, strict=True):
            spec.stock = stock
        return orders

    def _pick_coupon(
        self, coupons: Sequence[Coupon], uses: list[int], at: datetime, subtotal: Decimal, status: str
    ) -> int | None:
        candidates = [
            index
            for index, coupon in enumerate(coupons)
            if coupon.is_active
            and (coupon.starts_at is None or coupon.starts_at <= at)
            and (coupon.ends_at is None or at < coupon.ends_at)
            and (coupon.min_subtotal is None or subtotal >= coupon.min_subtotal)
            and (coupon.max_uses is None or uses[index] < coupon.max_uses)
        ]
        if not candidates:
            return None
        index = self.rng.choice(candidates)
        if status != "cancelled":
            uses[index] += 1
        return index

    # --- writing -------------------------------------------------------------------------------

    def _coupons(self) -> list[Coupon]:
        coupons = [
            Coupon(
                code=code,
                kind=kind,
                value=Decimal(value),
                starts_at=self.now - timedelta(days=starts),
                ends_at=None if ends is None else self.now - timedelta(days=ends),
                min_subtotal=None if minimum is None else Decimal(minimum),
                max_uses=max_uses,
            )
            for code, kind, value, starts, ends, minimum, max_uses in COUPONS
        ]
        return Coupon.objects.bulk_create(coupons)

    def _customers(self, count: int) -> list[Any]:
        user_model = get_user_model()
        password = make_password(DEMO_CUSTOMER_PASSWORD)  # hashed once: Argon2 per user would dominate the run
        users = []
        for index in range(count):
            first, last = self.fake.first_name(), self.fake.last_name()
            users.append(
                user_model(
                    email=f"{_ascii(first)}.{_ascii(last)}.{index + 1}@{DEMO_EMAIL_DOMAIN}".replace(" ", ""),
                    first_name=first,
                    last_name=last,
                    password=password,
                    date_joined=self.now - timedelta(days=HISTORY_DAYS + self.rng.uniform(0, 365)),
                )
            )
        staff = user_model(email=DEMO_STAFF_EMAIL, first_name="Fulfilment", last_name="Team", is_staff=True)
        staff.set_unusable_password()
        return user_model.objects.bulk_create([*users, staff], batch_size=BATCH_SIZE)

    def write(self) -> dict[str, int]:
        n_authors = max(1, self.n_books // 4)
        coupons = self._coupons()
        genres = Genre.objects.bulk_create([Genre(name=name, slug=slug) for name, slug in GENRES])
        author_names = self._author_names(n_authors)
        bios = [self.fake.paragraph(nb_sentences=2) for _ in range(200)]
        authors: list[Author] = []
        for batch in _batched(author_names, BATCH_SIZE):
            authors += Author.objects.bulk_create([Author(name=name, bio=self.rng.choice(bios)) for name in batch])
        books = self._books(n_authors)
        n_customers = max(3, min(self.n_orders // 3, 20_000)) if self.n_orders else 0
        orders = self._orders(books, max(n_customers, 1), coupons) if self.n_orders else []
        book_ids = self._write_books(books, author_names)
        users = self._customers(n_customers)
        customers, staff = users[:-1], users[-1]
        self._write_orders(orders, books, book_ids, customers, staff, coupons)
        return {
            "books": len(books),
            "authors": len(authors),
            "genres": len(genres),
            "customers": len(customers),
            "orders": len(orders),
            "coupons": len(coupons),
        }

    def _write_books(self, books: list[_BookSpec], author_names: list[str]) -> list[int]:
        """Books through the import's upsert (links and search index included); their ids in order."""
        slugs = [slug for _, slug in GENRES]
        book_ids: list[int] = []
        for batch in _batched(books, BATCH_SIZE):
            rows = [
                BookRow(
                    line=0,
                    present=OPTIONAL_COLUMNS,
                    **{name: getattr(spec, name) for name in _SPEC_COLUMNS},
                    authors=tuple(author_names[author] for author in spec.authors),
                    genres=tuple(slugs[genre] for genre in spec.genres),
                )
                for spec in batch
            ]
            book_ids += books_upsert(rows=rows).book_ids
        return book_ids

    def _write_orders(
        self,
        orders: list[_OrderSpec],
        books: list[_BookSpec],
        book_ids: list[int],
        customers: list[Any],
        staff: Any,
        coupons: list[Coupon],
    ) -> None:
        for offset, batch in enumerate(_batched(orders, BATCH_SIZE)):
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


def demo_store_wipe() -> None:
    """Delete orders, coupons, the catalog and the demo users (``--force``)."""
    IdempotencyKey.objects.all().delete()
    StatusChange.objects.all().delete()
    OrderItem.objects.all().delete()
    Order.objects.all().delete()
    Coupon.objects.all().delete()
    Book.genres.through.objects.all().delete()
    BookAuthor.objects.all().delete()
    Book.objects.all().delete()
    Author.objects.all().delete()
    Genre.objects.all().delete()
    get_user_model().objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
