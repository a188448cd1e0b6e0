"""Orders placed before payments were recorded get a manual payment matching their status."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from orders.models import Order
from orders.payments.models import Payment
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("orders.migrations.0004_payments_existing_orders_and_retry_job")


def test_existing_orders_get_a_manual_payment_with_the_status_their_order_implies():
    orders = {status: OrderFactory(status=status, total="9.50") for status in Order.Status.values}
    Payment.objects.all().delete()

    migration.forwards(apps, None)
    migration.forwards(apps, None)  # running it again adds nothing

    payments = {p.order.status: p for p in Payment.objects.select_related("order")}
    assert len(payments) == len(orders) == Payment.objects.count()
    assert {status: p.status for status, p in payments.items()} == {
        "pending": "awaiting",
        "paid": "succeeded",
        "shipped": "succeeded",
        "delivered": "succeeded",
        "cancelled": "cancelled",
    }
    assert {(p.provider, str(p.amount), p.currency) for p in payments.values()} == {("manual", "9.50", "EUR")}
