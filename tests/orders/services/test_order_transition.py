"""orders.services.order_transition / order_cancel: the fulfilment state machine."""

from __future__ import annotations

import pytest

from catalog.models import Book
from orders.exceptions import InvalidCoupon, InvalidTransition, TransitionNotPermitted
from orders.models import Order
from orders.services import OrderLine, order_cancel, order_place, order_transition
from tests.factories import BookFactory, CouponFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

S = Order.Status
ALLOWED = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.CANCELLED),
    (S.PAID, S.SHIPPED),
    (S.PAID, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
}
ALL_MOVES = [(a, b) for a in S.values for b in S.values]


@pytest.mark.parametrize(("start", "to"), ALL_MOVES, ids=[f"{a}->{b}" for a, b in ALL_MOVES])
def test_transition_table(staff_user, start, to):
    order = OrderFactory(status=start)
    if (start, to) in ALLOWED:
        updated = order_transition(order=order, to=to, by=staff_user)
        assert updated.status == to
        change = order.status_changes.get()
        assert (change.from_status, change.to_status, change.by) == (start, to, staff_user)
    else:
        with pytest.raises(InvalidTransition) as caught:
            order_transition(order=order, to=to, by=staff_user)
        assert caught.value.status_code == 409
        assert caught.value.code == "invalid_transition"
        order.refresh_from_db()
        assert order.status == start
        assert not order.status_changes.exists()


def test_full_happy_path_records_each_step(user, staff_user):
    book = BookFactory(stock=3)
    order = order_place(user=user, items=[OrderLine(book.pk, 1)])
    for to in (S.PAID, S.SHIPPED, S.DELIVERED):
        order = order_transition(order=order, to=to, by=staff_user)
    history = [(c.from_status, c.to_status, c.by_id) for c in order.status_changes.order_by("at", "id")]
    assert history == [
        ("", "pending", user.pk),
        ("pending", "paid", staff_user.pk),
        ("paid", "shipped", staff_user.pk),
        ("shipped", "delivered", staff_user.pk),
    ]


@pytest.mark.parametrize("paid_first", [False, True], ids=["pending", "paid"])
def test_cancel_restores_stock_and_frees_coupon(user, staff_user, paid_first):
    a = BookFactory(stock=5)
    b = BookFactory(stock=2)
    coupon = CouponFactory(code="ONCE", max_uses=1)
    order = order_place(user=user, items=[OrderLine(a.pk, 3), OrderLine(b.pk, 2)], coupon_code="ONCE")
    assert [x.stock for x in Book.objects.filter(pk__in=[a.pk, b.pk]).order_by("pk")] == [2, 0]
    with pytest.raises(InvalidCoupon):
        order_place(user=user, items=[OrderLine(a.pk, 1)], coupon_code="ONCE")
    if paid_first:
        order_transition(order=order, to=S.PAID, by=staff_user)

    order_cancel(order=order, by=user)

    assert [x.stock for x in Book.objects.filter(pk__in=[a.pk, b.pk]).order_by("pk")] == [5, 2]
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    again = order_place(user=user, items=[OrderLine(a.pk, 1)], coupon_code="ONCE")
    assert again.coupon == coupon


def test_cancel_twice_restores_stock_once(user):
    book = BookFactory(stock=4)
    order = order_place(user=user, items=[OrderLine(book.pk, 3)])
    order_cancel(order=order, by=user)
    with pytest.raises(InvalidTransition):
        order_cancel(order=order, by=user)
    assert Book.objects.get(pk=book.pk).stock == 4


def test_stale_order_object_is_checked_against_the_database(user, staff_user):
    order = OrderFactory(user=user)
    stale = Order.objects.get(pk=order.pk)
    order_transition(order=order, to=S.PAID, by=staff_user)
    order_transition(order=order, to=S.SHIPPED, by=staff_user)
    with pytest.raises(InvalidTransition):
        order_cancel(order=stale, by=staff_user)


@pytest.mark.parametrize("to", [S.PAID, S.SHIPPED, S.DELIVERED])
def test_customer_may_not_move_own_order_forward(user, to):
    order = OrderFactory(user=user)
    with pytest.raises(TransitionNotPermitted):
        order_transition(order=order, to=to, by=user)
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_customer_may_not_cancel_someone_elses_order(user):
    order = OrderFactory(user=UserFactory())
    with pytest.raises(TransitionNotPermitted):
        order_cancel(order=order, by=user)


def test_staff_may_cancel_any_order(user, staff_user):
    book = BookFactory(stock=1)
    order = order_place(user=user, items=[OrderLine(book.pk, 1)])
    assert order_cancel(order=order, by=staff_user).status == S.CANCELLED
    assert Book.objects.get(pk=book.pk).stock == 1


def test_system_transition_without_user_is_recorded_without_author():
    order = OrderFactory()
    order_transition(order=order, to=S.PAID, by=None)
    assert order.status_changes.get().by is None
