"""localstripe itself delivers the signed webhook to a running server: the order becomes paid over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from orders.models import Order
from orders.payments.models import Payment
from tests.factories import BookFactory, UserFactory
from tests.orders.payments.conftest import WEBHOOK_SECRET, WEBHOOK_URL, LocalStripe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhook_to(stripe_settings: LocalStripe) -> Iterator[Any]:
    """``webhook_to(url)`` registers a webhook endpoint at localstripe; it points nowhere after the test."""

    def register(url: str) -> None:
        stripe_settings.post(
            "/_config/webhooks/bookstore",
            url=url,
            secret=WEBHOOK_SECRET,
            **{"events[]": ["payment_intent.succeeded", "payment_intent.payment_failed"]},
        )

    yield register
    register("http://127.0.0.1:9/nowhere")  # later tests' events must not reach this test's server


def test_localstripe_delivers_the_signed_event_and_the_running_server_marks_the_order_paid(
    live_server, stripe_settings, webhook_to, no_tiers
):
    webhook_to(f"{live_server.url}{WEBHOOK_URL}")
    user = UserFactory(password="Quite-L0ng-Passphrase!")
    token = requests.post(
        f"{live_server.url}/api/v1/auth/token",
        json={"email": user.email, "password": "Quite-L0ng-Passphrase!"},
        timeout=10,
    ).json()["access"]
    book = BookFactory(price="20.00", stock=1)
    placed = requests.post(
        f"{live_server.url}/api/v1/orders",
        json={"items": [{"book_id": book.pk, "quantity": 1}], "payment_provider": "stripe"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    intent_id = Payment.objects.get(order_id=order_id).provider_payment_id

    stripe_settings.pay(intent_id)  # what Stripe's client does in the browser

    deadline = time.monotonic() + 15
    while Order.objects.get(pk=order_id).status != "paid" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Order.objects.get(pk=order_id).status == "paid"
    assert Payment.objects.get(order_id=order_id).status == Payment.Status.SUCCEEDED
