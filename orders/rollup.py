"""The daily sales rollup the reports and the dashboard read: exact, whatever writes the orders.

Four tables hold per-day aggregates of ``orders`` and ``order_items``, days
of ``TIME_ZONE``: ``SalesDay`` (orders, revenue and discounts per status),
``SalesBookDay`` (copies and line totals per book), ``SalesCouponDay`` and
``SalesTaxDay`` (the last three over orders that are not cancelled, as the
reports count them).

How it stays exact:

- Database triggers on ``orders`` and ``order_items`` (migration 0010) insert
  a mark naming the order's ``created_at`` into ``sales_rollup_dirty`` for
  every insert, delete and change of a column the rollup depends on, in the
  writing transaction. No write path can skip them: services, admin actions,
  jobs, the ORM's ``update()``, raw SQL.
- ``sales_rollup_refresh`` reads the marks, recomputes each marked day from
  ``orders`` set-based (delete the day's rows, insert the aggregates), and
  deletes exactly the marks it read. A mark is visible only once its
  transaction committed, so the recompute (a later statement) sees that
  change; marks committed meanwhile stay for the next refresh. Refreshes run
  one at a time (a table lock on PostgreSQL, SQLite has one writer anyway).
- The reports, the dashboard and the order list call it before they read,
  so they always see every committed order; the periodic job
  ``orders.sales_rollup_refresh`` (every minute) keeps that read-time work to
  the last minute's days.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection, models, router, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from bookstore.limits import money
from orders.models import (
    Order,
    OrderItem,
    SalesBookDay,
    SalesBookToDate,
    SalesCouponDay,
    SalesDay,
    SalesDirtyMark,
    SalesTaxDay,
)

logger = logging.getLogger(__name__)

#: Marks read per round; a round recomputes the days they name in one transaction.
BATCH = 20_000
_DELETE_CHUNK = 500
_ROLLUPS = (SalesDay, SalesBookDay, SalesCouponDay, SalesTaxDay)
#: (copies, revenue) per (month start, book): what a recompute changed, to carry into the running totals.
_Delta = dict[tuple[date, int], tuple[int, Decimal]]


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """``created_at`` bounds of the days ``start`` to ``end`` (inclusive) in ``TIME_ZONE``."""
    tz = timezone.get_default_timezone()
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz),
    )


def _day_of(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def _insert_select(model: type[models.Model], columns: list[str], queryset: QuerySet[Any]) -> None:
    """``INSERT INTO model (columns) SELECT columns FROM (queryset)``: the aggregates never leave the database."""
    sql, params = queryset.query.sql_with_params()
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    selected = ", ".join(f"q.{connection.ops.quote_name(c)}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {selected} FROM ({sql}) q", params)


def _tax_rows(counted: QuerySet[Order]) -> list[SalesTaxDay]:
    tz = timezone.get_default_timezone()
    subquery, params = (
        counted.order_by().annotate(day=TruncDate("created_at", tzinfo=tz)).values("tax", "day").query.sql_with_params()
    )
    if connection.vendor == "postgresql":
        sql = (
            "SELECT q.day, t->>'label', t->>'rate', SUM((t->>'amount')::numeric)"
            f" FROM ({subquery}) q CROSS JOIN LATERAL jsonb_array_elements(q.tax) t"
            " GROUP BY 1, 2, 3"
        )
    else:
        sql = (
            "SELECT q.day, json_extract(t.value, '$.label'), json_extract(t.value, '$.rate'),"
            " SUM(CAST(json_extract(t.value, '$.amount') AS REAL))"
            f" FROM ({subquery}) q, json_each(q.tax) t GROUP BY 1, 2, 3"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        SalesTaxDay(
            day=day if isinstance(day, date) else date.fromisoformat(str(day)),
            label=str(label or ""),
            rate=str(rate or ""),
            amount=money(Decimal(str(amount or 0))),
        )
        for day, label, rate, amount in rows
    ]


def _recompute(days: set[date] | None) -> None:
    """Replace the rollup rows of ``days`` (None: every day) with aggregates computed from the orders."""
    tz = timezone.get_default_timezone()
    if days is None:
        where = Q()
        for model in _ROLLUPS:
            model.objects.all().delete()
        SalesBookToDate.objects.all().delete()
    else:
        where = reduce(or_, (Q(created_at__gte=s, created_at__lt=e) for s, e in (day_bounds(d, d) for d in days)))
        for model in _ROLLUPS:
            model.objects.filter(day__in=days).delete()
    orders = Order.objects.filter(where).order_by()
    counted = orders.exclude(status=Order.Status.CANCELLED)
    day = TruncDate("created_at", tzinfo=tz)
    _insert_select(
        SalesDay,
        ["day", "status", "orders", "revenue", "discounts"],
        orders.annotate(day=day)
        .values("day", "status")
        .annotate(orders=Count("id"), revenue=Sum("total"), discounts=Sum("discount_total")),
    )
    item_where = Q(order__in=counted.values("pk")) if days is not None else ~Q(order__status=Order.Status.CANCELLED)
    _insert_select(
        SalesBookDay,
        ["day", "book_id", "copies", "revenue"],
        OrderItem.objects.filter(item_where)
        .order_by()
        .annotate(day=TruncDate("order__created_at", tzinfo=tz))
        .values("day", "book_id")
        .annotate(copies=Sum("quantity"), revenue=Sum("line_total"))
        # Written in day order, a range of days is a range of table pages.
        .order_by("day", "book_id"),
    )
    _insert_select(
        SalesCouponDay,
        ["day", "code", "orders", "discount"],
        counted.exclude(coupon_code="")
        .annotate(day=day, code=F("coupon_code"))
        .values("day", "code")
        .annotate(orders=Count("id"), discount=Sum("discount_total")),
    )
    SalesTaxDay.objects.bulk_create(_tax_rows(counted))


def _book_rows(days: set[date]) -> _Delta:
    rows: _Delta = {}
    for day, book_id, copies, revenue in SalesBookDay.objects.filter(day__in=days).values_list(
        "day", "book_id", "copies", "revenue"
    ):
        key = (month_start(day), book_id)
        old_copies, old_revenue = rows.get(key, (0, Decimal("0.00")))
        rows[key] = (old_copies + copies, old_revenue + money(Decimal(revenue)))
    return rows


def _to_date_months() -> list[date]:
    """The month starts with running totals: consecutive, from the first built to the open month (two index reads)."""
    months = SalesBookToDate.objects.values_list("month", flat=True)
    first, last = months.order_by("month").first(), months.order_by("-month").first()
    built = []
    while first is not None and last is not None and first <= last:
        built.append(first)
        first = next_month(first)
    return built


def _recompute_days(days: set[date]) -> None:
    """Recompute ``days`` and carry the change of each book into the running totals of later months."""
    months = _to_date_months()
    if months and next_month(month_start(min(days))) < months[0]:
        # A day before the first running total (an order dated back): start the running totals over.
        _recompute(days)
        SalesBookToDate.objects.all().delete()
        _to_date_extend()
        return
    carried = {day for day in days if months and month_start(day) < months[-1]}
    before = _book_rows(carried) if carried else {}
    _recompute(days)
    if not carried:
        return
    after = _book_rows(carried)
    deltas: _Delta = {}
    for key in before.keys() | after.keys():
        old_copies, old_revenue = before.get(key, (0, Decimal("0.00")))
        new_copies, new_revenue = after.get(key, (0, Decimal("0.00")))
        if new_copies != old_copies or new_revenue != old_revenue:
            deltas[key] = (new_copies - old_copies, new_revenue - old_revenue)
    if deltas:
        _carry(deltas, months)


def _carry(deltas: _Delta, months: list[date]) -> None:
    """Add each book's change on a day of ``month`` to its running totals of every later month (few queries)."""
    wanted: dict[tuple[date, int], tuple[int, Decimal]] = {}
    for (month, book_id), (copies, revenue) in deltas.items():
        for later in (m for m in months if m > month):
            old_copies, old_revenue = wanted.get((later, book_id), (0, Decimal("0.00")))
            wanted[(later, book_id)] = (old_copies + copies, old_revenue + revenue)
    rows = SalesBookToDate.objects.filter(
        book_id__in={book_id for _, book_id in wanted}, month__gte=min(month for month, _ in wanted)
    )
    existing = {(row.month, row.book_id): row for row in rows}
    changed = []
    for key, (copies, revenue) in wanted.items():
        row = existing.get(key)
        if row is not None:
            row.copies += copies
            row.revenue = money(Decimal(row.revenue) + revenue)
            changed.append(row)
    SalesBookToDate.objects.bulk_update(changed, ["copies", "revenue"], batch_size=500)
    SalesBookToDate.objects.bulk_create(
        [
            SalesBookToDate(month=month, book_id=book_id, copies=copies, revenue=revenue)
            for (month, book_id), (copies, revenue) in wanted.items()
            if (month, book_id) not in existing
        ],
        batch_size=500,
    )


def _to_date_extend() -> None:
    """Add the missing running totals of every month start up to next month's (the open one)."""
    first = SalesBookDay.objects.order_by("day").values_list("day", flat=True).first()
    if first is None:
        return
    # Up to the month after today's: its totals are everything sold so far, kept current by the refreshes.
    current = next_month(month_start(timezone.localdate(timezone=timezone.get_default_timezone())))
    built = SalesBookToDate.objects.order_by("-month").values_list("month", flat=True).first()
    month = next_month(built) if built else next_month(month_start(first))
    table = connection.ops.quote_name(SalesBookToDate._meta.db_table)
    days = connection.ops.quote_name(SalesBookDay._meta.db_table)
    while month <= current:
        previous = month_start(month - timedelta(days=1))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (month, book_id, copies, revenue)"
                " SELECT %s, book_id, SUM(copies), SUM(revenue) FROM ("
                f" SELECT book_id, copies, revenue FROM {table} WHERE month = %s"
                f" UNION ALL SELECT book_id, copies, revenue FROM {days} WHERE day >= %s AND day < %s"
                ") q GROUP BY book_id",
                [month, previous, previous, month],
            )
        month = next_month(month)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {SalesDay._meta.db_table} IN EXCLUSIVE MODE")


def _delete_marks(ids: list[int]) -> None:
    for i in range(0, len(ids), _DELETE_CHUNK):
        SalesDirtyMark.objects.filter(pk__in=ids[i : i + _DELETE_CHUNK]).delete()


def sales_rollup_rebuild() -> None:
    """Recompute every day from the orders, with order writes held off for the duration (PostgreSQL)."""
    with transaction.atomic(using=router.db_for_write(SalesDay)):
        _lock()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Waits for writers in flight, blocks new ones until commit: the marks deleted are all folded in.
                cursor.execute("LOCK TABLE orders, order_items IN SHARE MODE")
        SalesDirtyMark.objects.all().delete()
        _recompute(None)
        _to_date_extend()


def sales_rollup_refresh() -> int:
    """Fold every committed mark into the rollup; returns the number of days recomputed."""
    recomputed = 0
    while True:
        with transaction.atomic(using=router.db_for_write(SalesDay)):
            _lock()
            marks = list(SalesDirtyMark.objects.order_by("pk").values_list("pk", "order_created_at")[:BATCH])
            if not marks:
                _to_date_extend()
                return recomputed
            if any(at is None for _, at in marks):
                full = True
            else:
                full = False
                days = {_day_of(at) for _, at in marks if at is not None}
                _recompute_days(days)
                _delete_marks([pk for pk, _ in marks])
                recomputed += len(days)
        if full:
            sales_rollup_rebuild()
            return recomputed + SalesDay.objects.values("day").distinct().count()
        if len(marks) < BATCH:
            with transaction.atomic(using=router.db_for_write(SalesDay)):
                _lock()
                _to_date_extend()
            return recomputed


def book_totals_sql(start: date, end: date) -> tuple[str, list[Any]]:
    """SQL for ``book_id, copies, revenue`` of every book sold from ``start`` to ``end`` (inclusive).

    Whole months inside the range come from the running totals (two rows per
    book), the days before and after them from ``SalesBookDay``. A range that
    runs to today ends at the open month's totals (everything sold so far).
    """
    to_date = connection.ops.quote_name(SalesBookToDate._meta.db_table)
    book_days = connection.ops.quote_name(SalesBookDay._meta.db_table)
    built = SalesBookToDate.objects.order_by("-month").values_list("month", flat=True).first()
    first = start if start.day == 1 else next_month(start)
    last = month_start(end + timedelta(days=1))
    if built is not None and last < built and not SalesDay.objects.filter(day__gt=end, day__lt=built).exists():
        # Nothing was sold after ``end`` (it is today or later): the open month's totals end the range.
        last = built
    if built is not None:
        last = min(last, built)
    parts: list[str] = []
    params: list[Any] = []
    # Two rows per book against one per book and day: worth it from two months on.
    if built is not None and next_month(first) < last:
        parts += [
            f"SELECT book_id, copies, revenue FROM {to_date} WHERE month = %s",
            f"SELECT book_id, -copies, -revenue FROM {to_date} WHERE month = %s",
            f"SELECT book_id, copies, revenue FROM {book_days} WHERE day >= %s AND day < %s",
            f"SELECT book_id, copies, revenue FROM {book_days} WHERE day >= %s AND day <= %s",
        ]
        params += [last, first, start, first, last, end]
    else:
        parts.append(f"SELECT book_id, copies, revenue FROM {book_days} WHERE day >= %s AND day <= %s")
        params += [start, end]
    union = " UNION ALL ".join(parts)
    sql = (
        "SELECT book_id, SUM(copies) AS copies, SUM(revenue) AS revenue"
        f" FROM ({union}) parts GROUP BY book_id HAVING SUM(copies) > 0"
    )
    return sql, params


def order_totals(*, status: str | None, since: date | None, until: date | None) -> tuple[int, Decimal]:
    """Orders placed on days ``since`` to before ``until`` (either open), optionally of one status.

    Returns their count and revenue (cancelled orders' totals not counted), from the rollup: the figures the
    order list shows for these filters without counting its rows.
    """
    rows = SalesDay.objects.all()
    if status is not None:
        rows = rows.filter(status=status)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lt=until)
    totals = rows.aggregate(count=Sum("orders"), revenue=Sum("revenue", filter=~Q(status=Order.Status.CANCELLED)))
    return int(totals["count"] or 0), money(Decimal(str(totals["revenue"] or 0)))
