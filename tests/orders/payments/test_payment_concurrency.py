"""Webhooks under real concurrency on PostgreSQL: threads, each with its own connection, released together.

50 deliveries of one event give one payment transition; an expiry racing a
late payment ends one way only (paid, or cancelled and refunded), because both
paths lock the order row and check its status under the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Book
from notifications.models import Email
from orders.expiry import order_expire_unpaid
from orders.models import Order, StatusChange
from orders.payments.models import Payment, PaymentEvent, WebhookEvent
from tests.orders.payments.conftest import WEBHOOK_URL, stripe_signature

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
R = TypeVar("R")


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-lock concurrency is proven on PostgreSQL (set DATABASE_URL)")


def run_together(task: Callable[[T], R], args: Sequence[T]) -> list[R]:
    barrier = threading.Barrier(len(args))

    def run(arg: T) -> R:
        try:
            barrier.wait(timeout=30)
            return task(arg)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return [future.result(timeout=120) for future in [pool.submit(run, arg) for arg in args]]


def _post(payload: bytes) -> int:
    response = APIClient().post(
        WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature(payload)
    )
    return int(response.status_code)


def test_fifty_concurrent_deliveries_of_one_event_pay_the_order_once(stripe_order, stripe_settings):
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    stripe_settings.pay(intent_id)
    payload = stripe_settings.event_for(intent_id, "payment_intent.succeeded")

    statuses = run_together(lambda _: _post(payload), range(50))

    assert statuses == [200] * 50
    assert Order.objects.get(pk=order["id"]).status == "paid"
    assert StatusChange.objects.filter(order_id=order["id"], to_status="paid").count() == 1
    assert PaymentEvent.objects.filter(payment__order_id=order["id"], to_status="succeeded").count() == 1
    assert WebhookEvent.objects.count() == 1
    assert Email.objects.filter(key=f"order-paid:{order['id']}").count() == 1


def test_expiry_racing_a_late_payment_has_exactly_one_outcome(stripe_order, stripe_settings):
    orders = [stripe_order(stock=4, quantity=1) for _ in range(8)]
    payloads: dict[int, bytes] = {}
    for order in orders:
        intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
        stripe_settings.pay(intent_id)
        payloads[order["id"]] = stripe_settings.event_for(intent_id, "payment_intent.succeeded")
    Order.objects.update(created_at=timezone.now() - timedelta(minutes=31))

    def act(job: Any) -> Any:
        return order_expire_unpaid() if job == "expire" else _post(payloads[job])

    results = run_together(act, ["expire", *payloads])

    assert results[1:] == [200] * len(payloads)
    outcomes = []
    for order in orders:
        status = Order.objects.get(pk=order["id"]).status
        payment = Payment.objects.get(order_id=order["id"])
        refunds = stripe_settings.refunds(payment.provider_payment_id)
        changes = list(StatusChange.objects.filter(order_id=order["id"]).values_list("to_status", flat=True))
        stock = Book.objects.get(pk=order["items"][0]["book_id"]).stock
        if status == "paid":
            assert (payment.status, refunds, changes, stock) == ("succeeded", [], ["pending", "paid"], 3)
        else:
            assert status == "cancelled"
            assert payment.status == Payment.Status.REFUNDED
            assert [r["id"] for r in refunds] == [payment.provider_refund_id]
            assert changes == ["pending", "cancelled"]
            assert stock == 4
        outcomes.append(status)
    assert results[0] == outcomes.count("cancelled")
