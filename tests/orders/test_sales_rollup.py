"""The daily sales rollup equals the figures computed straight from the orders, whatever wrote them.

``tests/orders/sales_brute_force.py`` is the report as it was computed before the rollup (every order of the
range scanned); the rollup-based report must give the same numbers for any orders, any later changes to them
(cancelled, dated back, lines removed, raw SQL) and any range and granularity. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.dashboard import dashboard_compute
from orders.models import Order, OrderItem, SalesBookDay, SalesBookToDate, SalesDay, SalesDirtyMark
from orders.reports import sales_report
from orders.rollup import sales_rollup_rebuild, sales_rollup_refresh
from orders.services import OrderLine, order_place, order_transition
from tests.factories import AuthorFactory, BookFactory, GenreFactory, OrderFactory, OrderItemFactory, UserFactory
from tests.orders.sales_brute_force import sales_report as brute_force_report

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
#: Orders spread over the last 100 days: at least three month boundaries, so the running totals are used.
SPAN = 100
STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"]


@pytest.fixture
def books(db: Any) -> list[Any]:
    genres = [GenreFactory(name=f"G{i}", slug=f"g{i}") for i in range(3)]
    authors = [AuthorFactory(name=f"A{i}") for i in range(3)]
    return [
        BookFactory(
            title=f"Book {i}",
            price=Decimal("5.00") + i,
            stock=1000,
            authors=[authors[i % 3], authors[(i + 1) % 3]] if i % 2 else [authors[i % 3]],
            genres=[genres[i % 3]],
        )
        for i in range(5)
    ]


def _at(days_ago: int, minute: int) -> datetime:
    day = TODAY - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time.min)) + timedelta(minutes=minute)


order_specs = st.lists(
    st.tuples(
        st.integers(0, SPAN),  # days ago
        st.integers(0, 1439),  # minute of the day
        st.sampled_from(STATUSES),
        st.lists(st.tuples(st.integers(0, 4), st.integers(1, 3)), min_size=1, max_size=3, unique_by=lambda x: x[0]),
        st.booleans(),  # with a coupon code
    ),
    min_size=1,
    max_size=12,
)
changes = st.lists(
    st.tuples(st.sampled_from(["cancel", "move", "drop_line", "raw_total"]), st.integers(0, 11), st.integers(0, SPAN)),
    max_size=5,
)
ranges = st.lists(
    st.tuples(st.integers(0, SPAN + 5), st.integers(0, SPAN + 5), st.sampled_from(["day", "week", "month"])),
    min_size=1,
    max_size=3,
)


def _place(books: list[Any], specs: list[Any]) -> list[Order]:
    user = UserFactory()
    made = []
    for days_ago, minute, status, lines, coupon in specs:
        subtotal = sum((books[b].price * q for b, q in lines), Decimal("0.00"))
        discount = Decimal("1.00") if coupon else Decimal("0.00")
        order = OrderFactory(
            user=user,
            status=status,
            subtotal=subtotal,
            discount_total=discount,
            total=subtotal - discount,
            coupon_code="SAVE1" if coupon else "",
            tax=[
                {"rate": "7.00", "label": "VAT", "amount": str((subtotal * Decimal("0.07")).quantize(Decimal("0.01")))}
            ],
        )
        for b, q in lines:
            OrderItemFactory(order=order, book=books[b], quantity=q, unit_price=books[b].price)
        Order.objects.filter(pk=order.pk).update(created_at=_at(days_ago, minute))
        made.append(order)
    return made


def _change(orders: list[Order], kind: str, which: int, days_ago: int) -> None:
    order = orders[which % len(orders)]
    if kind == "cancel":
        Order.objects.filter(pk=order.pk).update(status="cancelled")
    elif kind == "move":
        Order.objects.filter(pk=order.pk).update(created_at=_at(days_ago, 720))
    elif kind == "drop_line":
        line = OrderItem.objects.filter(order=order).order_by("pk").first()
        if line is not None:
            line.delete()
    else:
        with connection.cursor() as cursor:  # a write that bypasses the ORM entirely
            cursor.execute("UPDATE orders SET total = total + 1 WHERE id = %s", [order.pk])


def _assert_reports_match(spans: list[Any]) -> None:
    for a, b, granularity in spans:
        start, end = sorted((TODAY - timedelta(days=a), TODAY - timedelta(days=b)))
        assert sales_report(start=start, end=end, granularity=granularity) == brute_force_report(
            start=start, end=end, granularity=granularity
        ), (start, end, granularity)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=order_specs, later=changes, spans=ranges)
def test_the_rollup_equals_the_orders_after_any_writes(books: list[Any], specs: Any, later: Any, spans: Any) -> None:
    Order.objects.all().delete()
    orders = _place(books, specs)
    _assert_reports_match(spans)  # folds the new orders in
    for kind, which, days_ago in later:
        _change(orders, kind, which, days_ago)
    _assert_reports_match(spans)  # folds the changes in: days recomputed, running totals carried
    # A rebuild from scratch gives the rows the refreshes kept.
    kept = sorted(SalesBookToDate.objects.values_list("month", "book_id", "copies", "revenue"))
    days = sorted(SalesBookDay.objects.values_list("day", "book_id", "copies", "revenue"))
    sales_rollup_rebuild()
    assert sorted(SalesBookDay.objects.values_list("day", "book_id", "copies", "revenue")) == days
    rebuilt = sorted(SalesBookToDate.objects.values_list("month", "book_id", "copies", "revenue"))
    # Refreshes keep a book's zero rows in months after a change; a rebuild writes only books sold before.
    assert [r for r in kept if r[2] or r[3]] == [r for r in rebuilt if r[2] or r[3]]


def test_orders_placed_and_cancelled_through_the_services_reach_the_report_and_dashboard(books: list[Any]) -> None:
    customer = UserFactory()
    kept = order_place(user=customer, items=[OrderLine(book_id=books[0].pk, quantity=2)])
    gone = order_place(user=customer, items=[OrderLine(book_id=books[1].pk, quantity=1)])
    order_transition(order=gone, to="cancelled", by=customer)

    report = sales_report(start=TODAY, end=TODAY)
    dashboard = dashboard_compute()

    assert (report.orders, report.revenue) == (1, kept.total)
    assert report == brute_force_report(start=TODAY, end=TODAY, granularity="day")
    assert [(t.book_id, t.quantity) for t in dashboard.top_sellers] == [(books[0].pk, 2)]
    assert {s.status: s.count for s in dashboard.by_status}["cancelled"] == 1
    assert not SalesDirtyMark.objects.exists()  # every mark folded in


def test_triggers_mark_the_day_of_every_write(books: list[Any]) -> None:
    sales_rollup_refresh()
    order = OrderFactory()
    item = OrderItemFactory(order=order, book=books[0])
    Order.objects.filter(pk=order.pk).update(number="BK-RENAMED")  # not a column the rollup reads: no mark
    marks_after_insert = SalesDirtyMark.objects.count()
    Order.objects.filter(pk=order.pk).update(created_at=_at(40, 0))
    item.delete()

    assert marks_after_insert == 2  # the order and its line
    assert SalesDirtyMark.objects.count() == 2 + 2 + 1  # dated back: old and new day; line removed: its day
    sales_rollup_refresh()
    assert not SalesDirtyMark.objects.exists()
    assert list(SalesDay.objects.values_list("day", "orders")) == [(TODAY - timedelta(days=40), 1)]


def test_a_full_rebuild_is_requested_by_a_null_mark(books: list[Any]) -> None:
    OrderItemFactory(order=OrderFactory(status="paid", total=Decimal("9.00")), book=books[0])
    sales_rollup_refresh()
    SalesDay.objects.all().delete()  # the rollup lost, e.g. before the migration's first refresh
    SalesDirtyMark.objects.create(order_created_at=None)

    sales_rollup_refresh()

    assert list(SalesDay.objects.values_list("day", "status", "orders")) == [(TODAY, "paid", 1)]
    assert SalesBookToDate.objects.filter(month__gt=TODAY).values_list("book_id", "copies").get() == (books[0].pk, 1)


def test_ranges_before_any_sale_and_in_the_future_are_empty(books: list[Any]) -> None:
    _place(books, [(3, 0, "paid", [(0, 1)], False)])
    long_ago, later = date(2000, 1, 1), TODAY + timedelta(days=40)

    assert sales_report(start=long_ago, end=long_ago + timedelta(days=60)).orders == 0
    assert sales_report(start=TODAY + timedelta(days=1), end=later).top_books_by_copies == []
