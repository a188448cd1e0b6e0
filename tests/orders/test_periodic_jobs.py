"""Periodic order jobs: unpaid orders expire, old Idempotency-Key records are purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from catalog.exceptions import InsufficientStock
from notifications.models import Email
from notifications.services import email_rendered
from orders.models import IdempotencyKey, Order, StatusChange
from orders.services import OrderLine, order_place, order_transition
from orders.tasks import expire_unpaid_orders, purge_idempotency_keys
from tests.factories import BookFactory, CouponFactory, UserFactory

pytestmark = pytest.mark.django_db


def _backdate(order: Order, age: timedelta) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - age)


def test_pending_orders_past_the_manual_payment_window_are_cancelled_by_the_system(settings, user, no_tiers):
    settings.MANUAL_PAYMENT_DAYS = 7
    book = BookFactory(stock=10)
    coupon = CouponFactory(code="ONCE", max_uses=1)
    expired = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=3)], coupon_code="ONCE")
    recent = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=2)])
    paid_long_ago = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=1)])
    order_transition(order=paid_long_ago, to=Order.Status.PAID, by=UserFactory(is_staff=True, is_superuser=True))
    _backdate(expired, timedelta(days=7, minutes=1))
    _backdate(recent, timedelta(days=6, hours=23))
    _backdate(paid_long_ago, timedelta(days=30))
    book.refresh_from_db()
    assert book.stock == 4

    assert expire_unpaid_orders() == 1

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {expired.pk: "cancelled", recent.pk: "pending", paid_long_ago.pk: "paid"}
    change = StatusChange.objects.filter(order=expired).latest("id")
    assert (change.from_status, change.to_status, change.by_id) == ("pending", "cancelled", None)
    book.refresh_from_db()
    assert book.stock == 7  # the expired order's 3 copies are back
    # The coupon's only use is free again.
    order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=1)], coupon_code=coupon.code)
    # Running the job again changes nothing.
    assert expire_unpaid_orders() == 0
    book.refresh_from_db()
    assert book.stock == 6


def test_the_placed_order_queues_its_confirmation_email_in_the_same_transaction(user, no_tiers):
    book = BookFactory(stock=2, title="Middlemarch")
    order = order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=1)])
    email = Email.objects.get()
    assert (email.to, email.key, email.state) == (user.email, f"order-placed:{order.pk}", Email.State.QUEUED)
    email = email_rendered(email)  # the worker sending it renders it
    assert order.number in email.subject
    assert "Middlemarch" in email.body_text
    assert "Middlemarch" in email.body_html
    assert mail.outbox == []  # a worker sends it, not the request


def test_an_order_that_fails_queues_no_email(user):
    book = BookFactory(stock=1)
    with pytest.raises(InsufficientStock):
        order_place(user=user, items=[OrderLine(book_id=book.pk, quantity=2)])
    assert not Email.objects.exists()


def test_idempotency_keys_older_than_24_hours_are_purged_newer_stay(user):
    old = IdempotencyKey.objects.create(user=user, key="old", fingerprint="x")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    young = IdempotencyKey.objects.create(user=user, key="young", fingerprint="x")
    IdempotencyKey.objects.filter(pk=young.pk).update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
