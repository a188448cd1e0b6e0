"""orders.services.order_quote: the same rules as placement, nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.exceptions import InsufficientStock
from catalog.models import Book
from orders.exceptions import InvalidCoupon, InvalidOrder
from orders.models import Order
from orders.services import OrderLine, order_quote
from tests.factories import BookFactory, CouponFactory

pytestmark = pytest.mark.django_db

D = Decimal


def test_quote_prices_like_placement_and_writes_nothing(default_tiers):
    CouponFactory(code="TEN", kind="percent", value="10.00")
    book = BookFactory(price="10.00", stock=10, title="Dune")
    with CaptureQueriesContext(connection) as queries:
        quote = order_quote(items=[OrderLine(book.pk, 10)], coupon_code="ten")
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for q in queries)
    assert [(i.book_id, i.title, i.isbn, i.quantity, i.unit_price, i.line_total) for i in quote.items] == [
        (book.pk, "Dune", book.isbn, 10, D("10.00"), D("100.00"))
    ]
    assert (quote.subtotal, quote.discount_total, quote.total) == (D("100.00"), D("19.00"), D("81.00"))
    assert [d["kind"] for d in quote.discounts] == ["bulk", "coupon"]
    assert Book.objects.get(pk=book.pk).stock == 10
    assert not Order.objects.exists()


def test_quote_refuses_what_placement_refuses():
    book = BookFactory(stock=1)
    with pytest.raises(InsufficientStock) as caught:
        order_quote(items=[OrderLine(book.pk, 2)])
    assert caught.value.details == {"items": [{"book_id": book.pk, "requested": 2, "available": 1}]}
    with pytest.raises(InvalidOrder):
        order_quote(items=[OrderLine(book.pk, 1), OrderLine(book.pk, 1)])
    with pytest.raises(InvalidCoupon):
        order_quote(items=[OrderLine(book.pk, 1)], coupon_code="NOPE")
