"""orders.selectors.order_list_with_details: the one prefetch behind the API, the admin export and export_orders."""

from __future__ import annotations

import pytest

from orders import exporting, selectors
from orders.models import Order
from tests.factories import OrderFactory, OrderItemFactory, StatusChangeFactory, UserFactory

pytestmark = pytest.mark.django_db


def _orders(n: int) -> list[Order]:
    orders = []
    for _ in range(n):
        order = OrderFactory()
        OrderItemFactory.create_batch(2, order=order)
        StatusChangeFactory(order=order)
        StatusChangeFactory(order=order, from_status="pending", to_status="paid")
        orders.append(order)
    return orders


def _read_everything(orders: list[Order]) -> list[tuple[str, list[str], list[str | None]]]:
    return [
        (
            order.user.email,
            [item.isbn for item in order.items.all()],
            [change.by.email if change.by else None for change in order.status_changes.all()],
        )
        for order in orders
    ]


@pytest.mark.parametrize("n", [1, 12])
def test_customer_items_and_history_with_their_author_in_three_queries(n, django_assert_num_queries):
    _orders(n)
    with django_assert_num_queries(3):
        rows = _read_everything(list(selectors.order_list_with_details().order_by("id")))
    assert len(rows) == n
    assert all(len(items) == 2 and len(history) == 2 for _, items, history in rows)


def test_it_narrows_a_given_queryset_and_keeps_items_and_history_in_order():
    _first, second = _orders(2)
    [order] = selectors.order_list_with_details(orders=Order.objects.filter(pk=second.pk))
    assert order.pk == second.pk
    assert [item.pk for item in order.items.all()] == sorted(item.pk for item in second.items.all())
    assert [change.to_status for change in order.status_changes.all()] == ["pending", "paid"]


def test_api_and_export_read_through_it(django_assert_num_queries):
    _orders(3)
    staff = UserFactory(is_staff=True, is_superuser=True)
    with django_assert_num_queries(3):
        assert len(_read_everything(list(selectors.order_list(user=staff)))) == 3
    with django_assert_num_queries(3):
        records = _read_everything(
            list(exporting.orders_for_export(statuses=None, created_after=None, created_before=None))
        )
    assert len(records) == 3
