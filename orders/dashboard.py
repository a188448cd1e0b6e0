"""Selectors for the staff dashboard on the admin index: sales, order statuses, low stock, top sellers, preorders.

Everything the dashboard shows is computed by ``dashboard_compute`` in a fixed
number of queries, whatever the size of the store (sales from the daily rollup
of ``orders.rollup``, brought up to date first), and cached
for ``DASHBOARD_CACHE_SECONDS`` by ``dashboard_get``. A cache outage only costs
the caching: the dashboard is then computed on every request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookstore.limits import money
from catalog.choices import PublicationStatus
from catalog.models import Book
from orders.models import Order, OrderItem, SalesDay
from orders.reports import top_books
from orders.rollup import sales_rollup_refresh

logger = logging.getLogger(__name__)

DASHBOARD_CACHE_SECONDS = 60
DASHBOARD_DAYS = 30
LOW_STOCK_LIMIT = 10
#: Low-stock books are counted up to this many ("more than 1000"), so the count stays cheap.
LOW_STOCK_COUNT_CAP = 1000
TOP_SELLERS_LIMIT = 10
PREORDER_TITLES_LIMIT = 10
_CACHE_KEY = "admin-dashboard:v2:{threshold}"


@dataclass(frozen=True)
class DailySales:
    """Orders placed on one day (cancelled ones excluded) and their revenue."""

    day: date
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class LowStockBook:
    id: int
    title: str
    isbn: str
    stock: int


@dataclass(frozen=True)
class TopSeller:
    """A book by copies sold this month; ``revenue`` is before order-level discounts."""

    book_id: int
    title: str
    quantity: int
    revenue: Decimal


@dataclass(frozen=True)
class PreorderTitle:
    """A forthcoming book: copies preordered on orders that are not cancelled, and the allowance left."""

    book_id: int
    title: str
    release_date: date | None
    preordered: int
    allowance_left: int


@dataclass(frozen=True)
class Dashboard:
    generated_at: datetime
    days: list[DailySales]
    orders_total: int
    revenue_total: Decimal
    orders_today: int
    revenue_today: Decimal
    by_status: list[StatusCount]
    low_stock_threshold: int
    low_stock: list[LowStockBook]
    low_stock_count: int  # at most LOW_STOCK_COUNT_CAP, see low_stock_over_cap
    low_stock_over_cap: bool
    month_start: date
    top_sellers: list[TopSeller]
    preorders: list[PreorderTitle]


def _daily_sales(*, today: date, first_day: date) -> list[DailySales]:
    rows = (
        SalesDay.objects.filter(day__gte=first_day, day__lte=today)
        .exclude(status=Order.Status.CANCELLED)
        .values_list("day", "orders", "revenue")
    )
    by_day: dict[date, tuple[int, Decimal]] = {}
    for day, orders, revenue in rows:
        count, amount = by_day.get(day, (0, Decimal("0.00")))
        by_day[day] = (count + orders, amount + Decimal(revenue))
    days = []
    for offset in range(DASHBOARD_DAYS - 1, -1, -1):
        day = today - timedelta(days=offset)
        count, amount = by_day.get(day, (0, Decimal("0.00")))
        days.append(DailySales(day=day, orders=count, revenue=money(amount)))
    return days


def _by_status() -> list[StatusCount]:
    counts = dict(SalesDay.objects.order_by().values_list("status").annotate(n=Sum("orders")))
    return [StatusCount(status=value, label=label, count=counts.get(value, 0)) for value, label in Order.Status.choices]


def _low_stock(*, threshold: int) -> tuple[list[LowStockBook], int]:
    low = Book.objects.filter(is_active=True, stock__lte=threshold)
    rows = low.order_by("stock", "title", "id").values("id", "title", "isbn", "stock")[:LOW_STOCK_LIMIT]
    # COUNT over a LIMITed subquery: a restock backlog of any size costs the same.
    count = low.order_by().values("pk")[: LOW_STOCK_COUNT_CAP + 1].count()
    return [LowStockBook(**row) for row in rows], count


def _top_sellers(*, month_start: date, today: date) -> list[TopSeller]:
    return [
        TopSeller(book_id=int(row.key), title=row.name, quantity=row.copies, revenue=row.revenue)
        for row in top_books(start=month_start, end=today, by="copies", limit=TOP_SELLERS_LIMIT)
    ]


def _preorders() -> list[PreorderTitle]:
    """The forthcoming titles released soonest, with the copies preordered (one query)."""
    preordered = (
        OrderItem.objects.filter(book=OuterRef("pk"), is_preorder=True)
        .exclude(order__status=Order.Status.CANCELLED)
        .order_by()
        .values("book")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    rows = (
        Book.objects.filter(publication_status=PublicationStatus.FORTHCOMING)
        .annotate(preordered=Coalesce(Subquery(preordered, output_field=IntegerField()), 0))
        .order_by("release_date", "title", "id")
        .values("id", "title", "release_date", "preordered", "preorder_allowance")[:PREORDER_TITLES_LIMIT]
    )
    return [
        PreorderTitle(
            book_id=row["id"],
            title=row["title"],
            release_date=row["release_date"],
            preordered=row["preordered"],
            allowance_left=row["preorder_allowance"],
        )
        for row in rows
    ]


def dashboard_compute(*, now: datetime | None = None, low_stock_threshold: int | None = None) -> Dashboard:
    """Compute the dashboard as of ``now`` (default: the current time), uncached.

    Days and months are those of the current time zone. Revenue counts every
    order that is not cancelled, at its final total (after discounts).
    """
    now = now or timezone.now()
    threshold = settings.LOW_STOCK_THRESHOLD if low_stock_threshold is None else low_stock_threshold
    local_now = timezone.localtime(now)
    today = local_now.date()
    first_day = today - timedelta(days=DASHBOARD_DAYS - 1)
    month_start = timezone.make_aware(datetime.combine(today.replace(day=1), time.min))

    sales_rollup_refresh()
    days = _daily_sales(today=today, first_day=first_day)
    low_stock, low_stock_count = _low_stock(threshold=threshold)
    return Dashboard(
        generated_at=now,
        days=days,
        orders_total=sum(d.orders for d in days),
        revenue_total=sum((d.revenue for d in days), Decimal("0.00")),
        orders_today=days[-1].orders,
        revenue_today=days[-1].revenue,
        by_status=_by_status(),
        low_stock_threshold=threshold,
        low_stock=low_stock,
        low_stock_count=min(low_stock_count, LOW_STOCK_COUNT_CAP),
        low_stock_over_cap=low_stock_count > LOW_STOCK_COUNT_CAP,
        month_start=month_start.date(),
        top_sellers=_top_sellers(month_start=month_start.date(), today=today),
        preorders=_preorders(),
    )


def dashboard_get() -> Dashboard:
    """The dashboard, from the cache when it is at most ``DASHBOARD_CACHE_SECONDS`` old.

    If the cache is unreachable the dashboard is computed directly (and the
    failure logged), so the admin index never fails because of the cache.
    """
    key = _CACHE_KEY.format(threshold=settings.LOW_STOCK_THRESHOLD)
    cache_up = True
    try:
        cached = cache.get(key)
    except Exception:
        logger.warning("Dashboard cache read failed; computing without the cache.", exc_info=True)
        cached, cache_up = None, False
    if isinstance(cached, Dashboard):
        return cached
    dashboard = dashboard_compute()
    if cache_up:
        try:
            cache.set(key, dashboard, DASHBOARD_CACHE_SECONDS)
        except Exception:
            logger.warning("Dashboard cache write failed.", exc_info=True)
    return dashboard
