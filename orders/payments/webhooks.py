"""Stripe's webhook: verify the signature, record the event by its id, then act on it once.

Handling runs inline in the request (it is a few row updates): the event row
is committed first, in a transaction of its own, so it exists even if the
handling fails; then one transaction locks the event row, skips it if it was
handled already, locks the order row (the same lock expiry and staff take, so
a late payment and an expiry have exactly one outcome) and acts. If handling
fails the answer is a 500 and Stripe delivers the event again, which finds the
row unhandled and handles it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.exceptions import WebhookSignatureInvalid
from orders.models import Order
from orders.payments.models import Payment, Provider, WebhookEvent
from orders.payments.providers import cents
from orders.payments.records import payment_refund_request, payment_set_status
from orders.services import order_transition

logger = logging.getLogger(__name__)

PayStatus = Payment.Status


def stripe_event_verify(*, payload: bytes, signature: str) -> dict[str, Any]:
    """The event in ``payload`` if ``signature`` (the ``Stripe-Signature`` header) verifies.

    Stripe's own scheme via ``stripe.Webhook.construct_event``: an HMAC-SHA256
    of ``"{timestamp}.{body}"`` with the endpoint's secret, and a timestamp no
    older than ``STRIPE_WEBHOOK_TOLERANCE`` seconds (so a captured request
    cannot be replayed later). Raises ``WebhookSignatureInvalid``.
    """
    import stripe  # only here: the library is heavy and web workers rarely receive a webhook

    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookSignatureInvalid("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty).")
    try:
        stripe.Webhook.construct_event(
            payload.decode("utf-8"), signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
        raise WebhookSignatureInvalid() from exc
    event: dict[str, Any] = json.loads(payload)
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise WebhookSignatureInvalid("The event has no id or type.")
    return event


def webhook_event_record(*, provider: str, event: dict[str, Any]) -> WebhookEvent:
    """Record ``event`` by its id, committed before anything acts on it; a known id returns the first row."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(
                provider=provider, event_id=event["id"], type=event["type"], payload=event
            )
    except IntegrityError:
        return WebhookEvent.objects.get(provider=provider, event_id=event["id"])


def stripe_webhook_handle(*, payload: bytes, signature: str) -> str:
    """Verify, record and handle one Stripe event; returns what was done (for the response and the log)."""
    event = stripe_event_verify(payload=payload, signature=signature)
    record = webhook_event_record(provider=Provider.STRIPE, event=event)
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=record.pk)
        if locked.processed_at is not None:
            return f"duplicate: {locked.result}"
        result = _dispatch(locked)
        locked.processed_at = timezone.now()
        locked.result = result[:255]
        locked.save(update_fields=["processed_at", "result"])
    logger.info("stripe event %s (%s): %s", locked.event_id, locked.type, result)
    return result


def _intent_payment(intent: dict[str, Any]) -> Payment | None:
    """The payment a PaymentIntent belongs to, by its id, else by the order id in its metadata."""
    payment = Payment.objects.filter(provider=Provider.STRIPE, provider_payment_id=intent.get("id", "")).first()
    if payment is None:
        order_id = str((intent.get("metadata") or {}).get("order_id", ""))
        if order_id.isdigit():
            payment = Payment.objects.filter(provider=Provider.STRIPE, order_id=int(order_id)).first()
    return payment


def _dispatch(event: WebhookEvent) -> str:
    handlers = {
        "payment_intent.succeeded": _intent_succeeded,
        "payment_intent.payment_failed": _intent_failed,
    }
    handler = handlers.get(event.type)
    if handler is None:
        return "ignored"
    intent = (event.payload.get("data") or {}).get("object") or {}
    found = _intent_payment(intent)
    if found is None:
        return "no matching payment"
    # The order row first, as order_transition and expiry take it, then the payment's.
    order = Order.objects.select_for_update().get(pk=found.order_id)
    payment = Payment.objects.select_for_update().get(pk=found.pk)
    if not payment.provider_payment_id and intent.get("id"):
        payment.provider_payment_id = intent["id"]
        payment.save(update_fields=["provider_payment_id", "updated_at"])
    return handler(event=event, order=order, payment=payment, intent=intent)


def _intent_succeeded(*, event: WebhookEvent, order: Order, payment: Payment, intent: dict[str, Any]) -> str:
    if payment.status in (PayStatus.SUCCEEDED, PayStatus.REFUND_PENDING, PayStatus.REFUNDED):
        return f"payment already {payment.status}"
    received = (intent.get("amount_received", intent.get("amount")), str(intent.get("currency", "")).lower())
    expected = (cents(payment.amount), payment.currency.lower())
    if received != expected:
        # Never expected (we create every intent ourselves), so staff look at it rather than the code guessing.
        logger.error("stripe event %s: paid %s, order %s expects %s", event.event_id, received, order.number, expected)
        return f"amount mismatch: paid {received[0]} {received[1]}, expected {expected[0]} {expected[1]}"
    payment_set_status(
        payment, PayStatus.SUCCEEDED, note="Stripe: payment_intent.succeeded", provider_event_id=event.event_id
    )
    if order.status == Order.Status.PENDING:
        order_transition(order=order, to=Order.Status.PAID, by=None)
        return "order paid"
    # Expired or cancelled before the money came: give it back.
    payment_refund_request(
        payment=payment,
        by=None,
        note=f"Paid after the order was {order.status}: refunded automatically.",
        provider_event_id=event.event_id,
    )
    return f"order {order.status}: refund recorded"


def _intent_failed(*, event: WebhookEvent, order: Order, payment: Payment, intent: dict[str, Any]) -> str:
    error = intent.get("last_payment_error") or {}
    message = str(error.get("message") or error.get("code") or "The payment failed.")
    if payment.status not in (PayStatus.AWAITING, PayStatus.FAILED):
        return f"payment {payment.status}: failure noted only"
    payment_set_status(
        payment, PayStatus.FAILED, note=f"Stripe: {message}", provider_event_id=event.event_id, last_error=message
    )
    return "payment failed recorded"
