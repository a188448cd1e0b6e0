"""The demo store of ``seed_demo``: generated in memory from one seed, then written in bulk.

Same seed, same store: every value comes from one seeded ``random.Random`` and
one seeded Faker, drawn in a fixed order (books are drawn before orders, so
the catalog does not depend on the number of orders); only the timestamps move
with the day it runs (orders span the 90 days before "now").

The catalog half (authors, genres, books) is ``_demo_catalog``, the orders half
(coupons, orders and their history) ``_demo_orders``; this module draws the
customers and writes everything in the order that keeps the draws fixed.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from faker import Faker

from catalog import readcache
from catalog.models import Author, Book, BookAuthor, Genre
from orders import pricing
from orders.management.commands._demo_catalog import BATCH_SIZE, DemoCatalog
from orders.management.commands._demo_orders import HISTORY_DAYS, DemoOrders
from orders.models import BulkDiscountTier, Coupon, IdempotencyKey, Order, OrderItem, StatusChange

DEMO_EMAIL_DOMAIN = "demo.bookstore.local"
#: Demo customers can log in with this password (the store is a local demo).
DEMO_CUSTOMER_PASSWORD = "demo-customer-2026"  # noqa: S105 (documented demo credential)
DEMO_STAFF_EMAIL = f"fulfilment@{DEMO_EMAIL_DOMAIN}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class DemoStore:
    """Generates the whole demo store from ``seed``, then writes it in batches."""

    def __init__(self, *, seed: int, books: int, orders: int, now: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.n_books = books
        self.n_orders = orders
        self.now = now
        tiers = [pricing.Tier(tier.min_quantity, tier.percent) for tier in BulkDiscountTier.objects.all()]
        self.catalog = DemoCatalog(rng=self.rng, fake=self.fake, books=books, now=now)
        self.sales = DemoOrders(rng=self.rng, orders=orders, now=now, tiers=tiers)

    def write(self) -> dict[str, int]:
        n_authors = max(1, self.n_books // 4)
        coupons = self.sales.write_coupons()
        genres = self.catalog.write_genres()
        author_names = self.catalog.author_names(n_authors)
        authors = self.catalog.write_authors(author_names)
        books = self.catalog.books(n_authors)
        n_customers = max(3, min(self.n_orders // 3, 20_000)) if self.n_orders else 0
        orders = self.sales.orders(books, max(n_customers, 1), coupons) if self.n_orders else []
        book_ids = self.catalog.write_books(books, author_names)
        users = self._customers(n_customers)
        customers, staff = users[:-1], users[-1]
        self.sales.write(orders, books, book_ids, customers, staff, coupons)
        return {
            "books": len(books),
            "authors": len(authors),
            "genres": len(genres),
            "customers": len(customers),
            "orders": len(orders),
            "coupons": len(coupons),
        }

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
    readcache.catalog_changed()
    get_user_model().objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
