"""bookstore.inserts: several rows of different tables in one statement (PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookstore.inserts import id_runs_reserve, ids_reserve, rows_insert
from orders.models import Order, StatusChange
from orders.payments.models import Payment, PaymentEvent
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="sequences and data-modifying WITH: PostgreSQL"),
]


def test_rows_go_in_one_statement_as_save_would_write_them():
    user = UserFactory()
    order_id, change_id, payment_id, event_id = ids_reserve(
        [Order._meta.db_table, StatusChange._meta.db_table, Payment._meta.db_table, PaymentEvent._meta.db_table]
    )
    order = Order(
        pk=order_id,
        number=Order.format_number(order_id, 2026),
        user=user,
        subtotal=Decimal("20.00"),
        discount_total=Decimal("0.00"),
        total=Decimal("20.00"),
        discounts=[{"kind": "tier", "amount": "0.00"}],
        tax=[{"rate": "7", "label": "VAT", "amount": "1.31"}],
    )
    change = StatusChange(pk=change_id, order=order, from_status="", to_status="pending", by=user)
    payment = Payment(
        pk=payment_id, order=order, provider="manual", status="awaiting", amount=Decimal("20.00"), currency="EUR"
    )
    event = PaymentEvent(pk=event_id, payment=payment, from_status="", to_status="awaiting", by=user)
    with CaptureQueriesContext(connection) as queries:
        rows_insert([order, change, payment, event])
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("WITH ")
    # auto_now_add stamps and defaults are set on the objects as save() sets them, and stored.
    stored = Order.objects.get(pk=order_id)
    assert order.created_at is not None
    assert stored.created_at == order.created_at
    assert stored.discounts == order.discounts
    assert stored.tax == order.tax
    assert stored.user_id == user.pk
    assert StatusChange.objects.get(pk=change_id).order_id == order_id
    assert PaymentEvent.objects.get(pk=event_id).payment.order_id == order_id
    assert not order._state.adding
    assert order._state.db == "default"


def test_every_row_needs_its_id():
    with pytest.raises(ValueError, match="primary key"):
        rows_insert([Order(number="x", user=UserFactory())])


def test_runs_of_ids_and_several_rows_of_one_table_go_in_one_part():
    from orders.models import OrderItem
    from tests.factories import BookFactory

    user = UserFactory()
    books = BookFactory.create_batch(3)
    [order_id], item_ids = id_runs_reserve([(Order._meta.db_table, 1), (OrderItem._meta.db_table, 3)])
    assert len(set(item_ids)) == 3
    order = Order(
        pk=order_id,
        number=Order.format_number(order_id, 2026),
        user=user,
        subtotal=Decimal("30.00"),
        discount_total=Decimal("0.00"),
        total=Decimal("30.00"),
    )
    items = [
        OrderItem(
            pk=item_id,
            order=order,
            book=book,
            isbn=book.isbn,
            title=book.title,
            unit_price=Decimal("10.00"),
            quantity=1,
            line_total=Decimal("10.00"),
        )
        for item_id, book in zip(item_ids, books, strict=True)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows_insert([order, *items])
    assert len(queries) == 1
    # The order and one INSERT of the three items with three VALUES rows.
    assert queries[0]["sql"].count("INSERT INTO") == 2
    stored = OrderItem.objects.filter(order_id=order_id).order_by("pk")
    assert [(item.pk, item.book_id) for item in stored] == sorted((item.pk, item.book_id) for item in items)
    assert all(not item._state.adding for item in items)
