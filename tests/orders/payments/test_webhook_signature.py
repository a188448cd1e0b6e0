"""Stripe webhook signatures, with Stripe's own scheme: good, bad, replayed, stale."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from orders.models import Order, StatusChange
from orders.payments.models import Payment, PaymentEvent, WebhookEvent
from tests.orders.payments.conftest import stripe_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_event(stripe_order: Any, stripe_settings: Any) -> tuple[dict[str, Any], bytes]:
    """A pending Stripe order whose intent is confirmed on localstripe, and the event Stripe would send."""
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    stripe_settings.pay(intent_id)
    return order, stripe_settings.event_for(intent_id, "payment_intent.succeeded")


def _unchanged(order: dict[str, Any]) -> None:
    assert Order.objects.get(pk=order["id"]).status == "pending"
    assert Payment.objects.get(order_id=order["id"]).status == "awaiting"
    assert not WebhookEvent.objects.exists()
    assert not StatusChange.objects.filter(order_id=order["id"], to_status="paid").exists()


def test_a_good_signature_is_accepted(paid_event, api_client, deliver):
    order, payload = paid_event
    assert deliver(api_client, payload).status_code == 200
    assert Order.objects.get(pk=order["id"]).status == "paid"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda p: stripe_signature(p, secret="whsec_someone_else"), id="wrong-secret"),
        pytest.param(lambda p: stripe_signature(p + b" "), id="signature-of-another-body"),
        pytest.param(lambda p: stripe_signature(p).replace("v1=", "v0="), id="no-v1-signature"),
        pytest.param(lambda p: "", id="missing-header"),
        pytest.param(lambda p: "garbage", id="malformed-header"),
    ],
)
def test_a_bad_signature_is_400_and_changes_nothing(paid_event, api_client, deliver, signature):
    order, payload = paid_event
    response = deliver(api_client, payload, signature=signature(payload))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    _unchanged(order)


def test_a_stale_timestamp_is_400_even_with_a_correct_signature(paid_event, api_client, deliver, settings):
    settings.STRIPE_WEBHOOK_TOLERANCE = 300
    order, payload = paid_event
    stale = stripe_signature(payload, timestamp=int(time.time()) - 301)
    response = deliver(api_client, payload, signature=stale)
    assert response.status_code == 400
    _unchanged(order)
    # Within the tolerance it is accepted.
    assert (
        deliver(api_client, payload, signature=stripe_signature(payload, timestamp=int(time.time()) - 200)).status_code
        == 200
    )


def test_a_replayed_event_changes_nothing(paid_event, api_client, staff_client, deliver):
    order, payload = paid_event
    assert deliver(api_client, payload).json() == {"result": "order paid"}
    staff_client.post(f"/api/v1/orders/{order['id']}/ship", {"carrier": "DHL"}, format="json")

    # Replayed later with a fresh, valid signature: recorded once, no second transition.
    replay = deliver(api_client, payload)

    assert replay.status_code == 200
    assert replay.json() == {"result": "duplicate: order paid"}
    assert Order.objects.get(pk=order["id"]).status == "shipped"
    assert StatusChange.objects.filter(order_id=order["id"], to_status="paid").count() == 1
    assert PaymentEvent.objects.filter(payment__order_id=order["id"]).count() == 3  # creating, awaiting, succeeded
    assert WebhookEvent.objects.count() == 1


def test_an_altered_body_with_the_original_signature_is_refused(paid_event, api_client, deliver):
    order, payload = paid_event
    event = json.loads(payload)
    event["data"]["object"]["metadata"]["order_id"] = "999999"
    altered = json.dumps(event).encode()
    assert deliver(api_client, altered, signature=stripe_signature(payload)).status_code == 400
    _unchanged(order)


def test_without_a_webhook_secret_every_event_is_refused(paid_event, api_client, deliver, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    order, payload = paid_event
    assert deliver(api_client, payload, signature=stripe_signature(payload, secret="")).status_code == 400
    _unchanged(order)


def test_other_event_types_are_recorded_and_ignored(stripe_settings, api_client, deliver):
    payload = json.dumps(
        {"id": "evt_other_1", "type": "customer.created", "created": int(time.time()), "data": {"object": {}}}
    ).encode()
    assert deliver(api_client, payload).json() == {"result": "ignored"}
    assert WebhookEvent.objects.get().type == "customer.created"


def test_a_correctly_signed_payment_of_another_amount_does_not_pay_the_order(paid_event, api_client, deliver):
    order, payload = paid_event
    event = json.loads(payload)
    event["id"] = "evt_other_amount"
    event["data"]["object"]["amount"] = 1
    response = deliver(api_client, json.dumps(event).encode())

    assert response.status_code == 200
    assert response.json()["result"].startswith("amount mismatch: paid 1 eur, expected 1250 eur")
    assert Order.objects.get(pk=order["id"]).status == "pending"
    assert Payment.objects.get(order_id=order["id"]).status == "awaiting"
