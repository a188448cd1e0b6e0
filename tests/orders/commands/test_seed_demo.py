"""manage.py seed_demo: a realistic demo store, reproducible, refusing to overwrite a catalog."""

from __future__ import annotations

import io
import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from catalog.fields import BOOK_COLUMN_FIELDS
from catalog.isbn import is_isbn13
from catalog.models import Author, Book, Genre
from orders import pricing
from orders.management.commands.seed_demo import DEMO_CUSTOMER_PASSWORD, DEMO_EMAIL_DOMAIN
from orders.models import BulkDiscountTier, Coupon, Order, OrderItem
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

BOOKS, ORDERS = 60, 40


def seed(*args: str, **options: int) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, **{"books": BOOKS, "orders": ORDERS, **options})
    return out.getvalue()


def store_snapshot() -> dict[str, object]:
    """Everything seed_demo decides, without ids; times relative to the first order (the store moves with "now")."""
    first = Order.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "books": list(Book.objects.order_by("isbn").values_list(*BOOK_COLUMN_FIELDS)),
        "authors": sorted(
            (book.isbn, tuple(link.author.name for link in book.author_links.order_by("position")))
            for book in Book.objects.prefetch_related("author_links__author")
        ),
        "genres": sorted(Book.genres.through.objects.values_list("book__isbn", "genre__slug")),
        "customers": sorted(get_user_model().objects.filter(is_staff=False).values_list("email", "first_name")),
        "orders": [
            (
                order.user.email,
                order.status,
                order.subtotal,
                order.discount_total,
                order.total,
                order.coupon_code,
                order.created_at - first,
                tuple(change.at - first for change in order.status_changes.order_by("at", "id")),
                tuple(order.items.order_by("isbn").values_list("isbn", "quantity", "unit_price")),
                tuple(order.status_changes.values_list("from_status", "to_status")),
            )
            for order in Order.objects.select_related("user").order_by("created_at")
        ],
        "coupons": list(Coupon.objects.values_list("code", "kind", "value", "max_uses")),
    }


def test_seeds_a_realistic_store():
    out = seed()

    assert f"Seeded {BOOKS} books" in out
    assert len(out.splitlines()) == 1  # short by default
    books = list(Book.objects.all())
    assert len(books) == BOOKS
    assert all(is_isbn13(book.isbn) for book in books)
    assert all(book.price >= 0 and book.stock >= 0 and book.title for book in books)
    assert len({book.language for book in books}) > 1
    assert not Book.objects.annotate(n=Count("author_links")).filter(n=0).exists()
    assert Author.objects.annotate(n=Count("books")).filter(n__gte=2).exists(), "some authors have several books"
    assert Genre.objects.count() >= 10
    assert Coupon.objects.count() >= 3
    customers = get_user_model().objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}", is_staff=False)
    assert customers.exists()
    assert customers.first().check_password(DEMO_CUSTOMER_PASSWORD)


def test_orders_span_90_days_every_status_with_history_and_priced_totals():
    seed()
    now = timezone.now()
    orders = list(Order.objects.prefetch_related("items", "status_changes"))
    tiers = [pricing.Tier(t.min_quantity, t.percent) for t in BulkDiscountTier.objects.all()]

    assert len(orders) == ORDERS
    assert set(Counter(order.status for order in orders)) == set(Order.Status.values)
    assert all(now - timedelta(days=90) <= order.created_at <= now for order in orders)
    for order in orders:
        assert order.number == Order.format_number(order.pk, order.created_at.year)
        history = sorted(order.status_changes.all(), key=lambda change: (change.at, change.pk))
        assert history[0].to_status == "pending"
        assert history[0].at == order.created_at
        assert history[-1].to_status == order.status
        assert all(earlier.at <= later.at <= now for earlier, later in itertools.pairwise(history))
        coupon = Coupon.objects.get(code=order.coupon_code) if order.coupon_code else None
        priced = pricing.price_order(
            lines=[pricing.LineInput(item.book_id, item.quantity, item.unit_price) for item in order.items.all()],
            tiers=tiers,
            coupon=pricing.CouponTerms(coupon.code, coupon.kind, coupon.value) if coupon else None,
        )
        assert (order.subtotal, order.discount_total, order.total) == (
            priced.subtotal,
            priced.discount_total,
            priced.total,
        )
        assert all(item.line_total == item.unit_price * item.quantity for item in order.items.all())
        for item in order.items.all():
            assert (item.isbn, item.title) == (item.book.isbn, item.book.title)


def test_coupon_limits_hold():
    seed(books=200, orders=300)
    for coupon in Coupon.objects.filter(max_uses__isnull=False):
        uses = Order.objects.filter(coupon=coupon).exclude(status="cancelled").count()
        assert uses <= coupon.max_uses
    assert Order.objects.exclude(coupon_code="").exists()


def test_same_seed_same_store():
    seed("--seed", "7")
    first = store_snapshot()

    seed("--seed", "7", "--force")

    assert store_snapshot() == first
    assert Book.objects.count() == BOOKS


def test_another_seed_another_store():
    seed("--seed", "7")
    first = store_snapshot()
    seed("--seed", "8", "--force")
    second = store_snapshot()
    assert first["books"] != second["books"]


def test_refuses_a_non_empty_catalog_without_force():
    book = BookFactory()

    with pytest.raises(CommandError, match="not empty"):
        seed()

    assert list(Book.objects.all()) == [book]
    assert not Order.objects.exists()


def test_force_replaces_catalog_and_orders_but_keeps_other_users():
    seed()
    BookFactory(isbn="9780441013593", title="Not a demo book")
    other_user = get_user_model().objects.create_user(email="someone@example.com", password="x" * 12)

    seed("--force")

    assert Book.objects.count() == BOOKS
    assert not Book.objects.filter(title="Not a demo book").exists()
    assert Order.objects.count() == ORDERS
    assert get_user_model().objects.filter(pk=other_user.pk).exists()


def test_books_sold_in_orders_are_taken_out_of_stock():
    """Stock left = the stock seeded without orders - the copies in orders that were not cancelled."""
    seed("--seed", "3", books=30, orders=0)
    initial = dict(Book.objects.values_list("isbn", "stock"))

    seed("--seed", "3", "--force", books=30, orders=200)

    sold = Counter()
    for isbn, quantity in OrderItem.objects.exclude(order__status="cancelled").values_list("isbn", "quantity"):
        sold[isbn] += quantity
    assert sum(sold.values()) > 0
    assert OrderItem.objects.filter(order__status="cancelled").exists()
    assert dict(Book.objects.values_list("isbn", "stock")) == {
        isbn: stock - sold[isbn] for isbn, stock in initial.items()
    }
    assert not OrderItem.objects.filter(book__is_active=False).exists()


def test_demo_setup_seeds_an_empty_store_once():
    out = io.StringIO()
    call_command("demo_setup", books=25, orders=10, stdout=out)
    call_command("demo_setup", books=25, orders=10, stdout=out)

    assert Book.objects.count() == 25
    assert Order.objects.count() == 10
    assert get_user_model().objects.filter(email="staff@bookstore.local", is_staff=True).exists()


def test_seeded_books_are_searchable():
    from catalog.search import book_search

    seed()
    book = Book.objects.order_by("pk").first()
    author = book.author_links.first().author.name

    assert book in book_search(Book.objects.all(), book.isbn)
    assert book in book_search(Book.objects.all(), f'"{author}"')


def _coupon_states(now) -> dict[str, set[str]]:
    """Each seeded coupon's state, judged from its fields and the orders that use it."""
    states: dict[str, set[str]] = {}
    for coupon in Coupon.objects.all():
        uses = Order.objects.filter(coupon=coupon).exclude(status="cancelled").count()
        if not coupon.is_active:
            state = "inactive"
        elif coupon.starts_at is not None and coupon.starts_at > now:
            state = "scheduled"
        elif coupon.ends_at is not None and coupon.ends_at <= now:
            state = "expired"
        elif coupon.max_uses is not None and uses >= coupon.max_uses:
            state = "used up"
        else:
            state = "active"
        states.setdefault(state, set()).add(coupon.code)
    return states


@pytest.mark.parametrize("orders", [20, 300])
def test_coupons_cover_every_state(orders):
    seed(books=100, orders=orders)
    states = _coupon_states(timezone.now())
    assert {"active", "expired", "scheduled", "used up", "inactive"} <= set(states), states
    # Orders only ever carry a coupon that was valid when they were placed.
    for order in Order.objects.exclude(coupon=None).select_related("coupon"):
        coupon = order.coupon
        assert coupon.is_active
        assert coupon.starts_at is None or coupon.starts_at <= order.created_at
        assert coupon.ends_at is None or order.created_at < coupon.ends_at
        assert coupon.min_subtotal is None or order.subtotal >= coupon.min_subtotal
