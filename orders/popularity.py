"""Popularity for the catalog: copies of each book sold in the last 90 days, from the orders.

The daily job (``orders.tasks.refresh_recent_sales``) counts the copies on
the lines of orders placed in the window and now paid, shipped or delivered
(pending and cancelled orders sold nothing), and hands the figures to
``catalog.services.book_recent_sales_update``, which writes them to the books
and sums them for authors and series. Search breaks ties and suggestions
order by them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from catalog.services import book_recent_sales_update
from orders.models import Order, OrderItem

#: How far back "recent" sales go.
RECENT_SALES_WINDOW = timedelta(days=90)
#: The statuses of orders whose copies count as sold.
SOLD_STATUSES = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)


def recent_sales(*, now: datetime | None = None) -> dict[int, int]:
    """Copies sold per book id in the ``RECENT_SALES_WINDOW`` before ``now`` (books with none are left out)."""
    since = (now or timezone.now()) - RECENT_SALES_WINDOW
    rows = (
        OrderItem.objects.filter(order__status__in=SOLD_STATUSES, order__created_at__gte=since)
        .order_by()
        .values("book_id")
        .annotate(copies=Sum("quantity"))
        .values_list("book_id", "copies")
    )
    return {book_id: int(copies) for book_id, copies in rows.iterator(chunk_size=5000)}


def recent_sales_refresh(*, now: datetime | None = None) -> int:
    """Write the last 90 days' sales to the catalog; returns the number of books whose figure changed."""
    return book_recent_sales_update(sales=recent_sales(now=now))
