"""orders.services.order_place: all or nothing, priced, snapshotted, bounded queries."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.exceptions import InsufficientStock
from catalog.models import Book
from orders.exceptions import InvalidCoupon, InvalidOrder
from orders.models import IdempotencyKey, Order, OrderItem, StatusChange
from orders.services import OrderLine, order_place
from tests.factories import BookFactory, CouponFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def lines(*pairs: tuple[int, int]) -> list[OrderLine]:
    return [OrderLine(book_id=book_id, quantity=quantity) for book_id, quantity in pairs]


def nothing_written() -> bool:
    return not (Order.objects.exists() or OrderItem.objects.exists() or StatusChange.objects.exists())


def test_places_pending_order_with_snapshots_and_history(user, no_tiers):
    dune = BookFactory(title="Dune", price="9.99", stock=5)
    emma = BookFactory(title="Emma", price="4.50", stock=2)

    order = order_place(user=user, items=lines((dune.pk, 2), (emma.pk, 1)))

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.user == user
    assert (order.subtotal, order.discount_total, order.total) == (D("24.48"), D("0.00"), D("24.48"))
    assert order.number == f"BK-{order.created_at.year}-{order.pk:06d}"
    assert [
        (i.book_id, i.isbn, i.title, i.unit_price, i.quantity, i.line_total) for i in order.items.order_by("id")
    ] == [
        (dune.pk, dune.isbn, "Dune", D("9.99"), 2, D("19.98")),
        (emma.pk, emma.isbn, "Emma", D("4.50"), 1, D("4.50")),
    ]
    history = list(order.status_changes.all())
    assert [(h.from_status, h.to_status, h.by) for h in history] == [("", "pending", user)]
    dune.refresh_from_db()
    emma.refresh_from_db()
    assert (dune.stock, emma.stock) == (3, 1)


def test_snapshot_survives_later_catalog_changes(user, no_tiers):
    book = BookFactory(title="Old title", price="10.00", stock=5)
    order = order_place(user=user, items=lines((book.pk, 1)))
    Book.objects.filter(pk=book.pk).update(title="New title", price="99.00", isbn="9780000000002")
    item = order.items.get()
    assert (item.title, item.unit_price, item.isbn) == ("Old title", D("10.00"), book.isbn)


def test_order_numbers_are_unique_and_follow_the_id(user):
    book = BookFactory(stock=10)
    first = order_place(user=user, items=lines((book.pk, 1)))
    second = order_place(user=user, items=lines((book.pk, 1)))
    assert first.number != second.number
    assert second.number.endswith(f"{second.pk:06d}")
    assert first.number.startswith(f"BK-{timezone.now().year}-")


def test_default_bulk_tiers_apply(user, default_tiers):
    book = BookFactory(price="10.00", stock=20)
    order = order_place(user=user, items=lines((book.pk, 10)))
    assert (order.subtotal, order.discount_total, order.total) == (D("100.00"), D("10.00"), D("90.00"))
    assert order.discounts == [order.discounts[0]]
    assert order.discounts[0]["kind"] == "bulk"
    assert order.discounts[0]["amount"] == "10.00"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the books' statement reads the tiers on PostgreSQL")
def test_on_postgresql_the_tiers_come_with_the_books_not_from_the_cache(user, default_tiers):
    """The tiers are read in the statement that reads the books: a stale cache entry is not used, nor asked."""
    from unittest import mock

    from django.core.cache import cache

    from orders.services.orders import TIERS_CACHE_KEY

    cache.set(TIERS_CACHE_KEY, [(1, D("50.00"))])  # what no tier says
    book = BookFactory(price="10.00", stock=20)
    with mock.patch("orders.services.orders.cache.get", wraps=cache.get) as cache_read:
        order = order_place(user=user, items=lines((book.pk, 10)))
        small = order_place(user=user, items=lines((book.pk, 4)))
    assert [call.args[0] for call in cache_read.call_args_list if call.args[0] == TIERS_CACHE_KEY] == []
    assert (order.subtotal, order.discount_total, order.total) == (D("100.00"), D("10.00"), D("90.00"))
    assert small.discount_total == D("0.00")


def test_without_tiers_nothing_is_taken_off(user, no_tiers):
    book = BookFactory(price="10.00", stock=200)
    order = order_place(user=user, items=lines((book.pk, 100)))
    assert (order.subtotal, order.discount_total, order.discounts) == (D("1000.00"), D("0.00"), [])


def test_insufficient_stock_lists_every_short_line_and_changes_nothing(user):
    ok = BookFactory(stock=5)
    short_a = BookFactory(stock=1)
    short_b = BookFactory(stock=0)
    with pytest.raises(InsufficientStock) as caught:
        order_place(user=user, items=lines((ok.pk, 2), (short_a.pk, 2), (short_b.pk, 1)))
    assert caught.value.details == {
        "items": [
            {"book_id": short_a.pk, "requested": 2, "available": 1},
            {"book_id": short_b.pk, "requested": 1, "available": 0},
        ]
    }
    assert [b.stock for b in Book.objects.filter(pk__in=[ok.pk, short_a.pk, short_b.pk]).order_by("pk")] == [5, 1, 0]
    assert nothing_written()


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda ok, inactive: [(ok, 1), (999_999, 1)], "items.1.book_id"),
        (lambda ok, inactive: [(inactive, 1), (ok, 1)], "items.0.book_id"),
        (lambda ok, inactive: [(ok, 1), (ok, 2)], "items.1.book_id"),
        (lambda ok, inactive: [(ok, 0)], "items.0.quantity"),
        (lambda ok, inactive: [(ok, 101)], "items.0.quantity"),
    ],
    ids=["unknown", "inactive", "duplicate-later-line", "zero-quantity", "over-100"],
)
def test_invalid_lines_are_named_and_change_nothing(user, build, field):
    ok = BookFactory(stock=5)
    inactive = BookFactory(stock=5, is_active=False)
    with pytest.raises(InvalidOrder) as caught:
        order_place(user=user, items=lines(*build(ok.pk, inactive.pk)))
    assert list(caught.value.details) == [field]
    assert caught.value.code == "validation_error"
    assert Book.objects.get(pk=ok.pk).stock == 5
    assert nothing_written()


def test_inactive_book_is_refused_even_when_short_of_stock(user):
    inactive = BookFactory(stock=0, is_active=False)
    with pytest.raises(InvalidOrder) as caught:
        order_place(user=user, items=lines((inactive.pk, 1)))
    assert "items.0.book_id" in caught.value.details


@pytest.mark.parametrize("count", [0, 51])
def test_line_count_is_one_to_fifty(user, count):
    books = BookFactory.create_batch(count, stock=1) if count else []
    with pytest.raises(InvalidOrder) as caught:
        order_place(user=user, items=lines(*[(b.pk, 1) for b in books]))
    assert list(caught.value.details) == ["items"]
    assert nothing_written()


def test_fifty_lines_are_accepted(user):
    books = BookFactory.create_batch(50, stock=1)
    order = order_place(user=user, items=lines(*[(b.pk, 1) for b in books]))
    assert order.items.count() == 50


def _count_place_queries(user, books) -> int:
    with CaptureQueriesContext(connection) as queries:
        order_place(user=user, items=lines(*[(b.pk, 2) for b in books]), coupon_code="BULK")
    return len(queries)


def test_query_count_does_not_depend_on_line_count(user):
    CouponFactory(code="BULK", max_uses=1000)
    _count_place_queries(user, BookFactory.create_batch(1, stock=5))  # caches the discount tiers
    one = _count_place_queries(user, BookFactory.create_batch(1, stock=5))
    fifty = _count_place_queries(user, BookFactory.create_batch(50, stock=5))
    assert one == fifty


def _statement(sql: str) -> str:
    """``SELECT books``, ``SELECT books FOR UPDATE``, ``INSERT orders``, ``UPDATE orders``, ``nextval`` ..."""
    if "nextval(" in sql:
        # Ids taken from the sequences; on PostgreSQL the placement takes them in its read of the books.
        return "SELECT books, nextval" if '"books"' in sql else "nextval"
    if sql.startswith("WITH "):
        # One statement of several parts: ``WITH (SELECT books FOR NO KEY UPDATE, UPDATE books, ...)``.
        # Tables are quoted; the statement's own parts (``FROM locked``) are not.
        parts = re.findall(r'(SELECT \w+ FROM|UPDATE|INSERT INTO) "(\w+)"', sql)
        named = [f"{verb.split()[0]} {table}" for verb, table in parts]
        locked = " FOR NO KEY UPDATE" if "FOR NO KEY UPDATE" in sql else ""
        return f"WITH ({named[0]}{locked}, {', '.join(named[1:])})"
    words = sql.split()
    verb = words[0].upper()
    table = words[words.index("FROM") + 1] if verb == "SELECT" else words[2] if verb == "INSERT" else words[1]
    locked = " FOR UPDATE" if "FOR UPDATE" in sql else " FOR NO KEY UPDATE" if "FOR NO KEY UPDATE" in sql else ""
    return f"{verb} {table.strip(chr(34))}{locked}"


def _statements(user, items, **kwargs) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        order_place(user=user, items=items, **kwargs)
    return [
        _statement(query["sql"]) for query in queries if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))
    ]


def test_statements_per_placement_are_pinned(user):
    """Every statement of a placement, in order; under the stock locks only the stock (and the items on SQLite).

    The order, its history, payment and confirmation email are written before
    the books are locked; the tiers come from the cache. PostgreSQL takes the
    ids of those five rows and of the items (so the order's number too, instead
    of a second UPDATE) from their sequences in the statement that reads the
    books, before the transaction, and inserts all of them in one statement
    (``bookstore.inserts``). The ledger's movements need the stock the locked
    UPDATE left: on PostgreSQL the lock (id order), that UPDATE and the
    movements' INSERT are one statement (4 in all, 1 under the locks),
    elsewhere three, then the items (12 on SQLite, with the number's UPDATE and
    one INSERT per row before the lock).
    """
    CouponFactory(code="TEN", max_uses=100)
    books = BookFactory.create_batch(3, stock=9)
    order_place(user=user, items=lines((books[0].pk, 1)))  # caches the discount tiers
    books_read = ["SELECT books, nextval"] if connection.vendor == "postgresql" else ["SELECT books"]
    if connection.vendor == "postgresql":
        before_lock = [
            "WITH (INSERT orders, INSERT order_status_changes, INSERT payments, INSERT payment_events, INSERT emails"
            ", INSERT order_items)"
        ]
        items_locked: list[str] = []
    else:
        before_lock = [
            "INSERT orders",
            "UPDATE orders",
            "INSERT order_status_changes",
            "INSERT payments",
            "INSERT payment_events",
            "INSERT emails",
        ]
        items_locked = ["INSERT order_items"]
    # The ledger's sale movements (one INSERT for all lines) need the stock left by the locked UPDATE. On
    # PostgreSQL the lock (in id order), the conditional UPDATE and that INSERT are one statement.
    if connection.vendor == "postgresql":
        locked = ["WITH (SELECT books FOR NO KEY UPDATE, UPDATE books, INSERT stock_movements)"]
    else:
        locked = [
            "SELECT books FOR UPDATE" if connection.features.has_select_for_update else "SELECT books",
            "UPDATE books",
            "INSERT stock_movements",
        ]

    plain = _statements(user, lines(*[(book.pk, 1) for book in books]))
    assert plain == [*books_read, *before_lock, *locked, *items_locked]

    with_coupon = _statements(user, lines((books[0].pk, 1)), coupon_code="ten")
    coupon_lock = "SELECT coupons FOR NO KEY UPDATE" if connection.features.has_select_for_update else "SELECT coupons"
    assert with_coupon == [
        *books_read,
        "SELECT coupons",
        "SELECT orders",  # the coupon's uses, before the lock: an early 400 writes nothing
        *before_lock,
        *locked,
        coupon_lock,
        "SELECT orders",  # and counted again under the coupon's lock
        *items_locked,
    ]


def test_book_repriced_between_reading_and_locking_is_placed_at_the_locked_price(user, no_tiers, monkeypatch):
    """The optimistic write is rolled back and the order priced again when the locked row differs."""
    from catalog import services as catalog_services
    from orders.services import orders as placing

    book = BookFactory(price="10.00", stock=5)
    reserve = catalog_services.stock_reserve

    def reserve_after_a_price_change(**kwargs):
        # Staff change the price after the order was priced, before its books are locked (the first times).
        if Book.objects.get(pk=book.pk).price == D("10.00"):
            Book.objects.filter(pk=book.pk).update(price="12.00")
        return reserve(**kwargs)

    monkeypatch.setattr(placing, "stock_reserve", reserve_after_a_price_change)
    order = order_place(user=user, items=lines((book.pk, 2)))
    assert order.total == D("24.00")
    assert [(item.unit_price, item.line_total) for item in order.items.all()] == [(D("12.00"), D("24.00"))]
    assert Order.objects.count() == 1
    assert order.payment.amount == D("24.00")
    assert Book.objects.get(pk=book.pk).stock == 3


def test_book_repriced_on_every_attempt_is_priced_under_the_locks(user, no_tiers, monkeypatch):
    from catalog import services as catalog_services
    from orders.services import orders as placing

    book = BookFactory(price="10.00", stock=5)
    reserve = catalog_services.stock_reserve
    calls = []

    def reserve_after_a_price_change(**kwargs):
        calls.append(1)
        Book.objects.filter(pk=book.pk).update(price=D("10.00") + len(calls))
        return reserve(**kwargs)

    monkeypatch.setattr(placing, "stock_reserve", reserve_after_a_price_change)
    order = order_place(user=user, items=lines((book.pk, 1)))
    assert len(calls) == placing.PLACE_ATTEMPTS + 1
    # The last attempt locks first and prices what it locked.
    assert order.total == D("10.00") + len(calls)
    assert Order.objects.count() == 1
    assert OrderItem.objects.get().unit_price == order.total


def test_coupon_changed_between_reading_and_locking_is_checked_again(user, no_tiers, monkeypatch):
    from catalog import services as catalog_services
    from orders.models import Coupon
    from orders.services import orders as placing

    coupon = CouponFactory(code="ONCE", kind="fixed", value="1.00")
    book = BookFactory(price="10.00", stock=5)
    reserve = catalog_services.stock_reserve

    def reserve_after_the_coupon_is_switched_off(**kwargs):
        Coupon.objects.filter(pk=coupon.pk).update(is_active=False)
        return reserve(**kwargs)

    monkeypatch.setattr(placing, "stock_reserve", reserve_after_the_coupon_is_switched_off)
    with pytest.raises(InvalidCoupon):
        order_place(user=user, items=lines((book.pk, 1)), coupon_code="once")
    assert nothing_written()
    assert Book.objects.get(pk=book.pk).stock == 5


# --- coupons --------------------------------------------------------------------


def test_percent_coupon_case_insensitive_after_bulk(user, default_tiers):
    CouponFactory(code="Welcome10", kind="percent", value="10.00")
    book = BookFactory(price="10.00", stock=20)
    order = order_place(user=user, items=lines((book.pk, 10)), coupon_code="  wElCoMe10 ")
    assert order.coupon is not None
    assert order.coupon_code == "Welcome10"
    assert [(d["kind"], d["code"], d["amount"]) for d in order.discounts] == [
        ("bulk", None, "10.00"),
        ("coupon", "Welcome10", "9.00"),
    ]
    assert (order.discount_total, order.total) == (D("19.00"), D("81.00"))


def test_fixed_coupon_floors_total_at_zero(user, no_tiers):
    CouponFactory(code="BIG", kind="fixed", value="100.00")
    book = BookFactory(price="12.00", stock=1)
    order = order_place(user=user, items=lines((book.pk, 1)), coupon_code="BIG")
    assert (order.subtotal, order.discount_total, order.total) == (D("12.00"), D("12.00"), D("0.00"))


def test_blank_coupon_code_means_no_coupon(user):
    book = BookFactory(stock=1)
    order = order_place(user=user, items=lines((book.pk, 1)), coupon_code="")
    assert order.coupon is None
    assert order.coupon_code == ""


@pytest.mark.parametrize(
    ("coupon_kwargs", "reason"),
    [
        (None, "Unknown"),
        ({"is_active": False}, "not active"),
        ({"starts_at": timedelta(hours=1)}, "not valid yet"),
        ({"ends_at": timedelta(hours=-1)}, "expired"),
        ({"min_subtotal": "50.00"}, "at least 50.00"),
        ({"max_uses": 1, "_used": 1}, "used up"),
        ({"max_uses": 0}, "used up"),
    ],
    ids=["unknown", "inactive", "not-started", "expired", "min-subtotal", "exhausted", "zero-uses"],
)
def test_invalid_coupon_is_refused_and_changes_nothing(user, coupon_kwargs, reason):
    book = BookFactory(price="10.00", stock=5)
    if coupon_kwargs is not None:
        kwargs = dict(coupon_kwargs)
        used = kwargs.pop("_used", 0)
        for name in ("starts_at", "ends_at"):
            if name in kwargs:
                kwargs[name] = timezone.now() + kwargs[name]
        coupon = CouponFactory(code="TRY", **kwargs)
        OrderFactory.create_batch(used, coupon=coupon, coupon_code="TRY")
    orders_before = Order.objects.count()
    with pytest.raises(InvalidCoupon) as caught:
        order_place(user=user, items=lines((book.pk, 2)), coupon_code="try")
    assert caught.value.code == "invalid_coupon"
    assert caught.value.status_code == 400
    assert reason in caught.value.message
    assert list(caught.value.details) == ["coupon_code"]
    assert Book.objects.get(pk=book.pk).stock == 5
    assert Order.objects.count() == orders_before


def test_coupon_window_includes_start_and_excludes_end(user):
    now = timezone.now()
    CouponFactory(code="NOW", starts_at=now - timedelta(seconds=1), ends_at=now + timedelta(hours=1))
    book = BookFactory(stock=5)
    assert order_place(user=user, items=lines((book.pk, 1)), coupon_code="NOW").coupon_code == "NOW"


def test_min_subtotal_compares_the_subtotal_before_discounts(user, default_tiers):
    # subtotal 50.00 meets min 50.00 even though the bulk discount brings it to 47.50
    CouponFactory(code="MIN50", min_subtotal="50.00")
    book = BookFactory(price="10.00", stock=10)
    order = order_place(user=user, items=lines((book.pk, 5)), coupon_code="MIN50")
    assert order.coupon_code == "MIN50"


def test_cancelled_orders_do_not_count_as_uses(user):
    coupon = CouponFactory(code="ONCE", max_uses=1)
    OrderFactory(coupon=coupon, coupon_code="ONCE", status=Order.Status.CANCELLED)
    book = BookFactory(stock=5)
    assert order_place(user=user, items=lines((book.pk, 1)), coupon_code="ONCE").coupon == coupon


def test_coupon_uses_are_shared_between_users(user):
    coupon = CouponFactory(code="ONCE", max_uses=1)
    book = BookFactory(stock=5)
    order_place(user=UserFactory(), items=lines((book.pk, 1)), coupon_code="ONCE")
    with pytest.raises(InvalidCoupon):
        order_place(user=user, items=lines((book.pk, 1)), coupon_code="ONCE")
    assert Order.objects.filter(coupon=coupon).count() == 1


def test_failure_after_stock_taken_rolls_everything_back(user):
    CouponFactory(code="LATER", min_subtotal="1000.00")
    book = BookFactory(stock=3)
    with pytest.raises(InvalidCoupon):
        order_place(user=user, items=lines((book.pk, 3)), coupon_code="LATER")
    assert Book.objects.get(pk=book.pk).stock == 3
    assert nothing_written()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="numbers are reserved before the insert on PostgreSQL")
def test_an_order_whose_year_turned_after_its_number_was_reserved_has_its_email_name_the_final_number(
    monkeypatch, no_tiers
):
    from notifications.models import Email
    from notifications.services import email_rendered
    from orders.services import orders as placing

    reserve = placing._reserved

    def reserved_last_year(ids: list[list[int]]) -> placing._Reserved:
        reserved = reserve(ids)
        stale = Order.format_number(reserved.order, timezone.now().year - 1)
        return placing._Reserved(**{**reserved.__dict__, "number": stale})

    monkeypatch.setattr(placing, "_reserved", reserved_last_year)
    book = BookFactory(stock=3)
    order = order_place(user=UserFactory(), items=lines((book.pk, 1)))
    assert order.number == f"BK-{timezone.now().year}-{order.pk:06d}"
    assert Order.objects.get(pk=order.pk).number == order.number
    email = Email.objects.get(key=f"order-placed:{order.pk}")
    assert email.context["order"]["number"] == order.number
    assert order.number in email_rendered(email).subject
