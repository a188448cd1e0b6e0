"""Orders placed and cancelled are counted for /metrics, once committed and only then."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from catalog.exceptions import InsufficientStock
from orders.services import OrderLine, order_cancel, order_place, order_transition

pytestmark = pytest.mark.django_db


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_placed_and_cancelled_orders_are_counted_after_commit(
    user, make_book, no_tiers, django_capture_on_commit_callbacks
):
    book = make_book(stock=5)
    placed, cancelled = _count("bookstore_orders_placed_total"), _count("bookstore_orders_cancelled_total")

    with django_capture_on_commit_callbacks() as callbacks:
        order = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=1)])
        # Not counted while the transaction could still roll back.
        assert _count("bookstore_orders_placed_total") == placed
    for callback in callbacks:
        callback()
    assert _count("bookstore_orders_placed_total") == placed + 1

    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, by=user)
    assert _count("bookstore_orders_cancelled_total") == cancelled + 1
    assert _count("bookstore_orders_placed_total") == placed + 1


def test_refused_orders_and_other_transitions_are_not_counted(
    user, staff_user, make_book, no_tiers, django_capture_on_commit_callbacks
):
    book = make_book(stock=1)
    placed, cancelled = _count("bookstore_orders_placed_total"), _count("bookstore_orders_cancelled_total")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(InsufficientStock):
            order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=2)])
        order = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=1)])
        order_transition(order=order, to="paid", by=staff_user)
    assert _count("bookstore_orders_placed_total") == placed + 1
    assert _count("bookstore_orders_cancelled_total") == cancelled
