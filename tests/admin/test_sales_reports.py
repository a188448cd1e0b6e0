"""Sales reports: figures per period, top books/authors/genres, coupons, tax per rate, CSV export, access."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order
from orders.reports import sales_report
from orders.rollup import sales_rollup_refresh
from orders.services import OrderLine, order_place, order_transition
from tests.factories import AuthorFactory, BookFactory, CouponFactory, GenreFactory, UserFactory

pytestmark = pytest.mark.django_db

REPORTS = "/admin/orders/order/reports/"


def backdate(order: Order, days: int) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def sales(db: Any) -> dict[str, Any]:
    poetry, novels = GenreFactory(name="Poetry", slug="poetry"), GenreFactory(name="Novels", slug="novels")
    keats, austen = AuthorFactory(name="John Keats"), AuthorFactory(name="Jane Austen")
    odes = BookFactory(title="Odes", price=Decimal("10.00"), stock=50, authors=[keats], genres=[poetry])
    emma = BookFactory(title="Emma", price=Decimal("4.00"), stock=50, authors=[austen], genres=[novels])
    CouponFactory(code="TENOFF", kind="percent", value=Decimal("10"))
    customer = UserFactory()
    first = order_place(user=customer, items=[OrderLine(book_id=odes.pk, quantity=1)], coupon_code="TENOFF")
    second = order_place(user=customer, items=[OrderLine(book_id=emma.pk, quantity=5)])
    cancelled = order_place(user=customer, items=[OrderLine(book_id=odes.pk, quantity=9)])
    order_transition(order=cancelled, to="cancelled", by=customer)
    old = order_place(user=customer, items=[OrderLine(book_id=odes.pk, quantity=2)])
    backdate(first, 1)
    backdate(old, 60)
    return {"first": first, "second": second, "old": old}


def test_the_report_counts_orders_in_the_range_and_ranks_books_authors_genres(sales: dict[str, Any]) -> None:
    today = timezone.localdate()

    report = sales_report(start=today - timedelta(days=6), end=today)

    assert report.orders == 2  # the cancelled one and the one from 60 days ago are not counted
    assert report.revenue == sales["first"].total + sales["second"].total
    assert [p.orders for p in report.periods][-2:] == [1, 1]
    assert len(report.periods) == 7
    assert [(r.name, r.copies, r.revenue) for r in report.top_books_by_revenue] == [
        ("Emma", 5, Decimal("20.00")),
        ("Odes", 1, Decimal("10.00")),
    ]
    assert [r.name for r in report.top_books_by_copies] == ["Emma", "Odes"]
    assert [r.name for r in report.top_authors] == ["Jane Austen", "John Keats"]
    assert [r.name for r in report.top_genres] == ["Novels", "Poetry"]
    assert [(c.code, c.orders, c.discount) for c in report.coupons] == [("TENOFF", 1, Decimal("1.00"))]
    assert sum(t.amount for t in report.tax) == sum(
        Decimal(str(line["amount"])) for o in (sales["first"], sales["second"]) for line in o.tax
    )
    assert report.tax


def test_weeks_and_months_group_the_same_orders(sales: dict[str, Any]) -> None:
    today = timezone.localdate()

    by_month = sales_report(start=today - timedelta(days=90), end=today, granularity="month")
    by_week = sales_report(start=today - timedelta(days=90), end=today, granularity="week")

    assert by_month.orders == by_week.orders == 3
    assert all(p.start.day == 1 for p in by_month.periods)
    assert all(p.start.weekday() == 0 for p in by_week.periods)


def test_the_page_costs_the_same_queries_whatever_the_orders(admin_client: Client, sales: dict[str, Any]) -> None:
    admin_client.get(REPORTS)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(REPORTS).status_code == 200
    for _ in range(5):
        order_place(user=UserFactory(), items=[OrderLine(book_id=sales["first"].items.first().book_id, quantity=1)])
    sales_rollup_refresh()  # the periodic job; the page would fold the new orders in itself otherwise
    with CaptureQueriesContext(connection) as more:
        admin_client.get(REPORTS)

    assert len(more) == len(few)


def test_each_table_exports_as_csv_with_formulas_neutralised(admin_client: Client, sales: dict[str, Any]) -> None:
    BookFactory(title="=HYPERLINK(evil)", price=Decimal("99.00"), stock=5)
    evil = BookFactory(title="=cmd|' /C calc'!A0", price=Decimal("99.00"), stock=5)
    order_place(user=UserFactory(), items=[OrderLine(book_id=evil.pk, quantity=1)])
    today = timezone.localdate()
    query = {"start": (today - timedelta(days=6)).isoformat(), "end": today.isoformat(), "granularity": "day"}

    books = admin_client.get(REPORTS, {**query, "export": "books"})
    series = admin_client.get(REPORTS, {**query, "export": "periods"})

    rows = list(csv.reader(io.StringIO(b"".join(books.streaming_content).decode())))
    assert books["Content-Disposition"].startswith('attachment; filename="sales-books-')
    assert rows[0] == ["id", "title", "copies", "revenue"]
    assert rows[1][1].startswith("'=")  # a spreadsheet shows it, never runs it
    days = list(csv.reader(io.StringIO(b"".join(series.streaming_content).decode())))
    assert len(days) == 1 + 7
    assert days[-1][0] == today.isoformat()


def test_bad_ranges_are_form_errors(admin_client: Client) -> None:
    backwards = admin_client.get(REPORTS, {"start": "2026-05-02", "end": "2026-05-01", "granularity": "day"})
    huge = admin_client.get(REPORTS, {"start": "2000-01-01", "end": "2026-05-01", "granularity": "day"})
    nonsense = admin_client.get(REPORTS, {"start": "yesterday", "end": "2026-05-01", "granularity": "fortnight"})

    for response in (backwards, huge, nonsense):
        assert response.status_code == 200
        assert response.context["report"] is None


def test_only_staff_who_view_orders_see_reports(staff_client_for: Callable[..., Client]) -> None:
    assert staff_client_for("Catalog managers").get(REPORTS).status_code == 403
    assert staff_client_for("Order managers").get(REPORTS).status_code == 200


def test_last_month_preset_covers_the_previous_calendar_month() -> None:
    from orders.admin_reports import presets

    label, start, end = presets(date(2026, 3, 15))[2]

    assert (label, start, end) == ("Last month", date(2026, 2, 1), date(2026, 2, 28))
