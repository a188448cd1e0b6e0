"""The dashboard selectors (orders/dashboard.py) and the admin index that shows them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import dashboard as dashboard_module
from orders.dashboard import DASHBOARD_DAYS, LOW_STOCK_LIMIT, dashboard_compute, dashboard_get
from orders.models import Order
from orders.rollup import sales_rollup_refresh
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

#: With the rollup current: its check (marks, running totals), sales per day, statuses, low stock (2), top sellers
#: (totals, titles), preorders, and the savepoints around the rollup's work; PostgreSQL also takes the
#: rollup's lock and tunes the top sellers' query. Counted as of a fixed day in the middle of last month
#: (``mid_month``): how the top sellers' range meets the running totals depends on the day of the month.
FIXED_QUERIES = 18 if connection.vendor == "postgresql" else 15


@pytest.fixture
def noon() -> datetime:
    """Midday today: orders an hour or a day before it fall on a known date whenever the test runs."""
    return timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)


def test_sales_per_day_cover_30_days_and_exclude_cancelled_orders(
    make_order: Callable[..., Order], noon: datetime
) -> None:
    book = BookFactory(price=Decimal("12.50"))
    make_order(lines=[(book, 2)], created_at=noon - timedelta(hours=1))  # today, 25.00
    make_order(lines=[(book, 1)], created_at=noon - timedelta(hours=2), discount=Decimal("2.50"))  # today, 10.00
    make_order(lines=[(book, 4)], status=Order.Status.CANCELLED, created_at=noon - timedelta(hours=1))
    make_order(lines=[(book, 1)], status=Order.Status.PENDING, created_at=noon - timedelta(days=1))  # 12.50
    make_order(lines=[(book, 1)], created_at=noon - timedelta(days=DASHBOARD_DAYS - 1))  # first day of the window
    make_order(lines=[(book, 3)], created_at=noon - timedelta(days=DASHBOARD_DAYS))  # just outside it

    dashboard = dashboard_compute(now=noon)

    assert len(dashboard.days) == DASHBOARD_DAYS
    assert dashboard.days[-1].day == noon.date()
    assert dashboard.days[0].day == noon.date() - timedelta(days=DASHBOARD_DAYS - 1)
    assert (dashboard.days[-1].orders, dashboard.days[-1].revenue) == (2, Decimal("35.00"))
    assert (dashboard.days[-2].orders, dashboard.days[-2].revenue) == (1, Decimal("12.50"))
    assert (dashboard.days[0].orders, dashboard.days[0].revenue) == (1, Decimal("12.50"))
    assert sum(d.orders for d in dashboard.days[1:-2]) == 0
    assert (dashboard.orders_total, dashboard.revenue_total) == (4, Decimal("60.00"))
    assert (dashboard.orders_today, dashboard.revenue_today) == (2, Decimal("35.00"))


def test_orders_by_status_lists_every_status_including_empty_ones(make_order: Callable[..., Order]) -> None:
    book = BookFactory()
    for status in ["paid", "paid", "shipped", "cancelled"]:
        make_order(lines=[(book, 1)], status=status)

    counts = {row.status: row.count for row in dashboard_compute().by_status}

    assert counts == {"pending": 0, "paid": 2, "shipped": 1, "delivered": 0, "cancelled": 1}


def test_low_stock_lists_active_books_at_or_below_the_threshold_lowest_first(settings: Any) -> None:
    settings.LOW_STOCK_THRESHOLD = 3
    BookFactory(title="Plenty", stock=4)
    at_threshold = BookFactory(title="At threshold", stock=3)
    sold_out = BookFactory(title="Sold out", stock=0)
    BookFactory(title="Retired", stock=0, is_active=False)

    dashboard = dashboard_compute()

    assert [(b.id, b.stock) for b in dashboard.low_stock] == [(sold_out.pk, 0), (at_threshold.pk, 3)]
    assert dashboard.low_stock_count == 2
    assert dashboard.low_stock_threshold == 3


def test_low_stock_is_capped_but_counts_every_low_book() -> None:
    BookFactory.create_batch(LOW_STOCK_LIMIT + 2, stock=1)

    dashboard = dashboard_compute(low_stock_threshold=1)

    assert len(dashboard.low_stock) == LOW_STOCK_LIMIT
    assert dashboard.low_stock_count == LOW_STOCK_LIMIT + 2
    assert not dashboard.low_stock_over_cap


def test_low_stock_count_stops_at_its_cap(monkeypatch: pytest.MonkeyPatch, admin_client: Client) -> None:
    monkeypatch.setattr(dashboard_module, "LOW_STOCK_COUNT_CAP", 3)
    BookFactory.create_batch(5, stock=0)

    dashboard = dashboard_compute()
    html = admin_client.get("/admin/").content.decode()

    assert (dashboard.low_stock_count, dashboard.low_stock_over_cap) == (3, True)
    assert "More than 3 active books at or below 5" in html


def test_top_sellers_rank_this_months_copies_and_ignore_cancelled_and_older_orders(
    make_order: Callable[..., Order], noon: datetime
) -> None:
    month_start = noon.replace(day=1, hour=0)
    a, b, c = BookFactory(title="A", price=Decimal("5.00")), BookFactory(title="B"), BookFactory(title="C")
    make_order(lines=[(a, 2), (b, 1)], created_at=month_start + timedelta(minutes=1))
    make_order(lines=[(a, 1)], created_at=month_start + timedelta(minutes=2))
    make_order(lines=[(c, 9)], status=Order.Status.CANCELLED, created_at=month_start + timedelta(minutes=3))
    make_order(lines=[(c, 9)], created_at=month_start - timedelta(minutes=1))

    top = dashboard_compute(now=noon).top_sellers

    assert [(row.book_id, row.title, row.quantity, row.revenue) for row in top] == [
        (a.pk, "A", 3, Decimal("15.00")),
        (b.pk, "B", 1, Decimal("10.00")),
    ]


def test_dashboard_is_computed_in_a_fixed_number_of_queries(make_order: Callable[..., Order]) -> None:
    # The 15th of last month at noon: a day inside a month, whatever the date the test runs on.
    mid_month = (timezone.localtime().replace(day=1) - timedelta(days=1)).replace(day=15, hour=12, minute=0)

    def count_queries() -> int:
        sales_rollup_refresh()  # the periodic job; the dashboard would fold new orders in itself otherwise
        with CaptureQueriesContext(connection) as ctx:
            dashboard_compute(now=mid_month, low_stock_threshold=100)
        return len(ctx.captured_queries)

    books = BookFactory.create_batch(3, stock=1)
    make_order(lines=[(books[0], 1)])
    few = count_queries()
    more_books = BookFactory.create_batch(30, stock=1)
    for i, book in enumerate(more_books):
        make_order(lines=[(book, 1), (books[i % 3], 2)], status=Order.Status.PAID)

    assert count_queries() == few == FIXED_QUERIES, few


def test_dashboard_get_serves_from_the_cache(make_order: Callable[..., Order], django_assert_num_queries: Any) -> None:
    book = BookFactory()
    first = dashboard_get()
    make_order(lines=[(book, 1)])

    with django_assert_num_queries(0):
        again = dashboard_get()

    assert again == first
    assert again.orders_total == 0


class _BrokenCache:
    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache is down")

    set = get


def test_dashboard_get_computes_without_the_cache_when_it_is_down(
    monkeypatch: pytest.MonkeyPatch, make_order: Callable[..., Order], caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dashboard_module, "cache", _BrokenCache())
    make_order(lines=[(BookFactory(), 1)])

    with caplog.at_level(logging.WARNING, logger="orders.dashboard"):
        dashboard = dashboard_get()

    assert dashboard.orders_total == 1
    assert "cache" in caplog.text


# --- the admin index ---------------------------------------------------------


def test_index_shows_the_dashboard_to_a_superuser(admin_client: Client, make_order: Callable[..., Order]) -> None:
    book = BookFactory(title="Dune", price=Decimal("9.99"), stock=2)
    make_order(lines=[(book, 3)])

    response = admin_client.get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="dash-chart"' in html
    assert html.count("<rect ") == DASHBOARD_DAYS
    assert 'id="kpi-orders">1<' in html
    assert 'id="kpi-revenue">29.97 EUR<' in html
    assert 'id="dash-low-stock"' in html
    assert "Dune" in html
    assert "<script" not in html.split('id="store-dashboard"', 1)[1].split("</section>", 1)[0]


def test_index_runs_the_same_number_of_queries_with_5_and_50_rows(
    admin_client: Client, make_order: Callable[..., Order], settings: Any
) -> None:
    settings.LOW_STOCK_THRESHOLD = 100

    def count_queries() -> int:
        dashboard_module.cache.clear()
        sales_rollup_refresh()  # the periodic job; the dashboard would fold new orders in itself otherwise
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get("/admin/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    books = BookFactory.create_batch(5, stock=1)
    for book in books:
        make_order(lines=[(book, 1)])
    with_5 = count_queries()
    books = BookFactory.create_batch(45, stock=1)
    for book in books:
        make_order(lines=[(book, 2)])

    assert count_queries() == with_5


def test_index_works_when_the_cache_is_down(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard_module, "cache", _BrokenCache())

    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert 'id="store-dashboard"' in response.content.decode()


def test_catalog_manager_sees_stock_but_not_sales(staff_client_for: Callable[..., Client]) -> None:
    html = staff_client_for("Catalog managers").get("/admin/").content.decode()

    assert 'id="dash-low-stock"' in html
    assert 'id="dash-sales"' not in html
    assert 'id="dash-status"' not in html


def test_order_manager_sees_sales_but_not_stock(staff_client_for: Callable[..., Client]) -> None:
    html = staff_client_for("Order managers").get("/admin/").content.decode()

    assert 'id="dash-sales"' in html
    assert 'id="dash-top-sellers"' in html
    assert 'id="dash-low-stock"' not in html


def test_staff_without_groups_get_no_dashboard(staff_client_for: Callable[..., Client]) -> None:
    response = staff_client_for().get("/admin/")

    assert response.status_code == 200
    assert 'id="store-dashboard"' not in response.content.decode()
