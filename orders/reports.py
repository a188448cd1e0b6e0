"""Sales reports for the back office: sales per day, week or month, top books, authors and genres,
coupon and discount use, and tax collected per rate, for any date range.

Every figure counts orders that are not cancelled, placed in the range (days
of ``TIME_ZONE``, both ends included). The figures come from the daily sales
rollup (``orders.rollup``), brought up to date before each report, so a page
costs the same few queries, and reads rows per day and book rather than per
order, whatever the number of orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet, Sum

from bookstore.limits import money
from catalog.models import Author, Genre
from orders.models import Order, OrderItem, SalesCouponDay, SalesDay, SalesTaxDay
from orders.rollup import book_totals_sql, day_bounds, sales_rollup_refresh

GRANULARITIES = {"day": "Day", "week": "Week", "month": "Month"}
TOP_LIMIT = 10
#: The longest range a report covers; a day-by-day chart of more would be unreadable anyway.
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    start: date
    orders: int
    revenue: Decimal
    discounts: Decimal


@dataclass(frozen=True)
class Ranked:
    key: str
    name: str
    copies: int
    revenue: Decimal


@dataclass(frozen=True)
class CouponUse:
    code: str
    orders: int
    discount: Decimal


@dataclass(frozen=True)
class TaxLine:
    label: str
    rate: str
    amount: Decimal


@dataclass(frozen=True)
class SalesReport:
    start: date
    end: date
    granularity: str
    periods: list[Period]
    orders: int
    revenue: Decimal
    discounts: Decimal
    top_books_by_revenue: list[Ranked]
    top_books_by_copies: list[Ranked]
    top_authors: list[Ranked]
    top_genres: list[Ranked]
    coupons: list[CouponUse]
    orders_with_coupon: int
    tax: list[TaxLine]


def report_orders(*, start: date, end: date) -> QuerySet[Order]:
    """Orders counted by the reports: placed from ``start`` to ``end`` (local days, inclusive), not cancelled."""
    since, until = day_bounds(start, end)
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


def _periods(*, start: date, end: date, granularity: str) -> list[Period]:
    """Orders, revenue and discounts per period, summed from the rollup's days (a few rows per day)."""
    rows = (
        SalesDay.objects.filter(day__gte=start, day__lte=end)
        .exclude(status=Order.Status.CANCELLED)
        .values_list("day", "orders", "revenue", "discounts")
    )
    sums: dict[date, list[Any]] = {}
    for day, orders, revenue, discounts in rows:
        entry = sums.setdefault(_period_start(day, granularity), [0, Decimal("0.00"), Decimal("0.00")])
        entry[0] += orders
        entry[1] += Decimal(revenue)
        entry[2] += Decimal(discounts)
    periods = []
    current = _period_start(start, granularity)
    while current <= end:
        orders, revenue, discounts = sums.get(current, (0, Decimal("0.00"), Decimal("0.00")))
        periods.append(Period(start=current, orders=orders, revenue=money(revenue), discounts=money(discounts)))
        current = _next(current, granularity)
    return periods


def _tune(cursor: Any) -> None:
    """Plan the books' totals as what they are: tens of thousands of rows, hashed in memory.

    The planner cannot estimate the rows of a ``GROUP BY`` over a ``UNION ALL`` and picks a nested loop of
    index lookups into the credits for each of them; hash joins are several times faster here.
    """
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL enable_nestloop = off")


def _ranked_tops(*, start: date, end: date) -> dict[str, list[tuple[int, int, Decimal]]]:
    """Top books by revenue and by copies, top authors and genres: one query over the books' totals.

    Each author (every credited contributor) and genre is credited with the
    full line of every book they are on, as before the rollup.
    """
    totals, params = book_totals_sql(start, end)
    limit = int(TOP_LIMIT)
    tops = [
        ("books", f"SELECT book_id AS id, copies, revenue FROM b ORDER BY revenue DESC, book_id LIMIT {limit}"),
        ("copies", f"SELECT book_id AS id, copies, revenue FROM b ORDER BY copies DESC, book_id LIMIT {limit}"),
        (
            "authors",
            "SELECT ba.author_id AS id, SUM(b.copies) AS copies, SUM(b.revenue) AS revenue"
            " FROM b JOIN book_authors ba ON ba.book_id = b.book_id"
            f" GROUP BY ba.author_id ORDER BY SUM(b.revenue) DESC, ba.author_id LIMIT {limit}",
        ),
        (
            "genres",
            "SELECT bg.genre_id AS id, SUM(b.copies) AS copies, SUM(b.revenue) AS revenue"
            " FROM b JOIN book_genres bg ON bg.book_id = b.book_id"
            f" GROUP BY bg.genre_id ORDER BY SUM(b.revenue) DESC, bg.genre_id LIMIT {limit}",
        ),
    ]
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    union = " UNION ALL ".join(f"SELECT '{name}' AS top, * FROM ({sql}) {name}" for name, sql in tops)
    result: dict[str, list[tuple[int, int, Decimal]]] = {name: [] for name, _ in tops}
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(f"WITH b AS {materialized}({totals}) {union}", params)
        for top, key, copies, revenue in cursor.fetchall():
            result[top].append((int(key), int(copies or 0), money(Decimal(str(revenue or 0)))))
    return result


def _titles(book_ids: set[int], *, start: date, end: date) -> dict[int, str]:
    """Each book's title as on its order lines in the range (the latest spelling wins, as MAX did)."""
    if not book_ids:
        return {}
    rows = (
        OrderItem.objects.filter(book_id__in=book_ids, order__in=report_orders(start=start, end=end).values("pk"))
        .order_by()
        .values("book_id")
        .annotate(title=Max("title"))
    )
    return {row["book_id"]: row["title"] for row in rows}


def _named(rows: list[tuple[int, int, Decimal]], names: dict[int, str]) -> list[Ranked]:
    return [
        Ranked(key=str(key), name=names.get(key, ""), copies=copies, revenue=revenue) for key, copies, revenue in rows
    ]


def _coupons(*, start: date, end: date) -> list[CouponUse]:
    rows = (
        SalesCouponDay.objects.filter(day__gte=start, day__lte=end)
        .values("code")
        .annotate(n=Sum("orders"), discount_sum=Sum("discount"))
        .order_by("-n", "code")
    )
    return [
        CouponUse(code=row["code"], orders=row["n"], discount=money(Decimal(row["discount_sum"] or 0))) for row in rows
    ]


def _tax(*, start: date, end: date) -> list[TaxLine]:
    rows = (
        SalesTaxDay.objects.filter(day__gte=start, day__lte=end)
        .values("label", "rate")
        .annotate(total=Sum("amount"))
        .order_by("rate", "label")
    )
    return [
        TaxLine(label=row["label"], rate=row["rate"], amount=money(Decimal(str(row["total"] or 0)))) for row in rows
    ]


def top_books(*, start: date, end: date, by: str, limit: int = TOP_LIMIT) -> list[Ranked]:
    """The books sold most in the range by ``by`` (``copies`` or ``revenue``), from the rollup."""
    totals, params = book_totals_sql(start, end)
    order = "copies" if by == "copies" else "revenue"
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(
            f"SELECT book_id, copies, revenue FROM ({totals}) b ORDER BY {order} DESC, book_id LIMIT %s",
            [*params, int(limit)],
        )
        rows = [(int(k), int(c or 0), money(Decimal(str(r or 0)))) for k, c, r in cursor.fetchall()]
    return _named(rows, _titles({k for k, _, _ in rows}, start=start, end=end))


def sales_report(*, start: date, end: date, granularity: str = "day") -> SalesReport:
    """The sales report from ``start`` to ``end`` (inclusive), its series by ``granularity`` (day, week, month)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"Unknown granularity {granularity!r}.")
    if end < start or (end - start).days > MAX_DAYS:
        raise ValueError("The range must run forwards and cover at most three years.")
    sales_rollup_refresh()
    periods = _periods(start=start, end=end, granularity=granularity)
    coupons = _coupons(start=start, end=end)
    tops = _ranked_tops(start=start, end=end)
    titles = _titles({key for key, _, _ in tops["books"] + tops["copies"]}, start=start, end=end)
    authors = dict(Author.objects.filter(pk__in=[key for key, _, _ in tops["authors"]]).values_list("pk", "name"))
    genres = dict(Genre.objects.filter(pk__in=[key for key, _, _ in tops["genres"]]).values_list("pk", "name"))
    return SalesReport(
        start=start,
        end=end,
        granularity=granularity,
        periods=periods,
        orders=sum(p.orders for p in periods),
        revenue=sum((p.revenue for p in periods), Decimal("0.00")),
        discounts=sum((p.discounts for p in periods), Decimal("0.00")),
        top_books_by_revenue=_named(tops["books"], titles),
        top_books_by_copies=_named(tops["copies"], titles),
        top_authors=_named(tops["authors"], authors),
        top_genres=_named(tops["genres"], genres),
        coupons=coupons,
        orders_with_coupon=sum(c.orders for c in coupons),
        tax=_tax(start=start, end=end),
    )
