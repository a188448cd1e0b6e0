"""The sales report computed straight from the orders, as it was before the daily rollup: the reference the
rollup-based ``orders.reports.sales_report`` must equal (tests only; it scans every order of the range).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from bookstore.limits import money
from catalog.models import Book, BookAuthor
from orders.models import Order, OrderItem
from orders.reports import GRANULARITIES, MAX_DAYS, CouponUse, Period, Ranked, SalesReport, TaxLine

TOP_LIMIT = 10


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def report_orders(*, start: date, end: date) -> QuerySet[Order]:
    """Orders counted by the reports: placed from ``start`` to ``end`` (local days, inclusive), not cancelled."""
    since, until = _bounds(start, end)
    return Order.objects.filter(created_at__gte=since, created_at__lt=until).exclude(status=Order.Status.CANCELLED)


def _period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _next(day: date, granularity: str) -> date:
    if granularity == "week":
        return day + timedelta(days=7)
    if granularity == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _periods(orders: QuerySet[Order], *, start: date, end: date, granularity: str) -> list[Period]:
    trunc = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[granularity]
    rows = (
        orders.order_by()
        .annotate(period=trunc("created_at"))
        .values("period")
        .annotate(orders=Count("id"), revenue=Sum("total"), discounts=Sum("discount_total"))
    )
    by_start = {_as_date(row["period"]): row for row in rows}
    periods = []
    current = _period_start(start, granularity)
    while current <= end:
        row = by_start.get(current)
        periods.append(
            Period(
                start=current,
                orders=row["orders"] if row else 0,
                revenue=money(Decimal(row["revenue"] or 0)) if row else Decimal("0.00"),
                discounts=money(Decimal(row["discounts"] or 0)) if row else Decimal("0.00"),
            )
        )
        current = _next(current, granularity)
    return periods


def _ranked(rows: Any, key: str, name: str) -> list[Ranked]:
    return [
        Ranked(
            key=str(row[key]),
            name=row[name],
            copies=row["copies"] or 0,
            revenue=money(Decimal(row["revenue"] or 0)),
        )
        for row in rows
    ]


def _top_books(orders: QuerySet[Order], *, by: str) -> list[Ranked]:
    rows = (
        OrderItem.objects.filter(order__in=orders.values("pk"))
        .values("book_id")
        .annotate(title=Max("title"), copies=Sum("quantity"), revenue=Sum("line_total"))
        .order_by(f"-{by}", "book_id")[:TOP_LIMIT]
    )
    return _ranked(rows, "book_id", "title")


def _top_authors(orders: QuerySet[Order]) -> list[Ranked]:
    """Each author is credited with the full line of every book they are on (co-authors share nothing)."""
    rows = (
        BookAuthor.objects.filter(book__order_items__order__in=orders.values("pk"))
        .values("author_id")
        .annotate(
            author_name=Max("author__name"),
            copies=Sum("book__order_items__quantity"),
            revenue=Sum("book__order_items__line_total"),
        )
        .order_by("-revenue", "author_id")[:TOP_LIMIT]
    )
    return _ranked(rows, "author_id", "author_name")


def _top_genres(orders: QuerySet[Order]) -> list[Ranked]:
    through = Book.genres.through
    rows = (
        through.objects.filter(book__order_items__order__in=orders.values("pk"))
        .values("genre_id")
        .annotate(
            genre_name=Max("genre__name"),
            copies=Sum("book__order_items__quantity"),
            revenue=Sum("book__order_items__line_total"),
        )
        .order_by("-revenue", "genre_id")[:TOP_LIMIT]
    )
    return _ranked(rows, "genre_id", "genre_name")


def _coupons(orders: QuerySet[Order]) -> list[CouponUse]:
    rows = (
        orders.exclude(coupon_code="")
        .order_by()
        .values("coupon_code")
        .annotate(orders=Count("id"), discount=Sum("discount_total"))
        .order_by("-orders", "coupon_code")
    )
    return [
        CouponUse(code=row["coupon_code"], orders=row["orders"], discount=money(Decimal(row["discount"] or 0)))
        for row in rows
    ]


def _tax(orders: QuerySet[Order]) -> list[TaxLine]:
    """Tax per rate, from the lines each order recorded when placed (JSON, summed in the database)."""
    subquery, params = orders.order_by().values("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        sql = (
            "SELECT t->>'label', t->>'rate', SUM((t->>'amount')::numeric) FROM orders o"
            " CROSS JOIN LATERAL jsonb_array_elements(o.tax) t"
            f" WHERE o.id IN ({subquery}) GROUP BY 1, 2 ORDER BY 2, 1"
        )
    else:
        sql = (
            "SELECT json_extract(t.value, '$.label'), json_extract(t.value, '$.rate'),"
            " SUM(CAST(json_extract(t.value, '$.amount') AS REAL)) FROM orders o, json_each(o.tax) t"
            f" WHERE o.id IN ({subquery}) GROUP BY 1, 2 ORDER BY 2, 1"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            TaxLine(label=str(label or ""), rate=str(rate or ""), amount=money(Decimal(str(amount or 0))))
            for label, rate, amount in cursor.fetchall()
        ]


def sales_report(*, start: date, end: date, granularity: str = "day") -> SalesReport:
    """The sales report from ``start`` to ``end`` (inclusive), its series by ``granularity`` (day, week, month)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"Unknown granularity {granularity!r}.")
    if end < start or (end - start).days > MAX_DAYS:
        raise ValueError("The range must run forwards and cover at most three years.")
    orders = report_orders(start=start, end=end)
    periods = _periods(orders, start=start, end=end, granularity=granularity)
    coupons = _coupons(orders)
    return SalesReport(
        start=start,
        end=end,
        granularity=granularity,
        periods=periods,
        orders=sum(p.orders for p in periods),
        revenue=sum((p.revenue for p in periods), Decimal("0.00")),
        discounts=sum((p.discounts for p in periods), Decimal("0.00")),
        top_books_by_revenue=_top_books(orders, by="revenue"),
        top_books_by_copies=_top_books(orders, by="copies"),
        top_authors=_top_authors(orders),
        top_genres=_top_genres(orders),
        coupons=coupons,
        orders_with_coupon=sum(c.orders for c in coupons),
        tax=_tax(orders),
    )
