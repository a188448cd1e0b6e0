"""Stripe payments end to end against localstripe: intent on placement, confirmation, signed webhook, refunds."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from bookstore.audit import SYSTEM_EMAIL
from catalog.models import Book
from notifications.models import Email
from notifications.services import email_rendered
from orders.expiry import order_expire_unpaid
from orders.models import Order, StatusChange
from orders.payments.models import Payment, PaymentEvent, WebhookEvent
from orders.payments.records import payment_start
from orders.tasks import retry_payments
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db


def test_placing_a_stripe_order_creates_a_payment_intent_for_its_total(stripe_order, stripe_settings):
    order = stripe_order(price="12.50", quantity=2)

    payment = order["payment"]
    assert (payment["provider"], payment["status"], payment["amount"]) == ("stripe", "awaiting", "25.00")
    assert payment["client_secret"].startswith("pi_")
    record = Payment.objects.get(order_id=order["id"])
    intent = stripe_settings.get(f"/v1/payment_intents/{record.provider_payment_id}")
    assert (intent["amount"], intent["currency"]) == (2500, "eur")
    assert intent["metadata"] == {"order_id": str(order["id"]), "order_number": order["number"]}
    assert intent["client_secret"] == payment["client_secret"]


def test_confirmed_intent_and_signed_webhook_mark_the_order_paid_once(
    stripe_order, stripe_settings, customer_client, api_client, deliver, user, django_capture_on_commit_callbacks
):
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    assert stripe_settings.pay(intent_id)["status"] == "succeeded"
    payload = stripe_settings.event_for(intent_id, "payment_intent.succeeded")

    response = deliver(api_client, payload)

    assert response.status_code == 200, response.content
    assert response.json() == {"result": "order paid"}
    body = customer_client.get(f"/api/v1/orders/{order['id']}").json()
    assert body["status"] == "paid"
    assert body["payment"]["status"] == "succeeded"
    assert body["payment"]["client_secret"] is None
    assert body["status_history"][-1] == {"status": "paid", "at": body["status_history"][-1]["at"], "by": None}
    paid_email = Email.objects.get(key=f"order-paid:{order['id']}")
    assert paid_email.to == user.email
    assert order["total"] in paid_email.body_text

    # The same event again (Stripe retries deliveries) changes nothing.
    again = deliver(api_client, payload)
    assert again.status_code == 200
    assert again.json()["result"].startswith("duplicate")
    assert StatusChange.objects.filter(order_id=order["id"], to_status="paid").count() == 1
    assert PaymentEvent.objects.filter(payment__order_id=order["id"], to_status="succeeded").count() == 1
    assert WebhookEvent.objects.filter(event_id=json.loads(payload)["id"]).count() == 1


def test_a_failed_card_is_recorded_and_the_order_stays_payable(
    stripe_order, stripe_settings, api_client, customer_client, deliver
):
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    with pytest.raises(Exception, match="402"):
        stripe_settings.pay(intent_id, payment_method="pm_card_chargeCustomerFail")
    payload = stripe_settings.event_for(intent_id, "payment_intent.payment_failed")

    assert deliver(api_client, payload).json() == {"result": "payment failed recorded"}

    payment = Payment.objects.get(order_id=order["id"])
    assert payment.status == Payment.Status.FAILED
    assert payment.last_error
    assert Order.objects.get(pk=order["id"]).status == "pending"
    # The customer may try again with another card: the order still offers the client secret.
    body = customer_client.get(f"/api/v1/orders/{order['id']}").json()
    assert (body["payment"]["status"], body["payment"]["client_secret"]) == (
        "failed",
        order["payment"]["client_secret"],
    )


def test_stripe_unreachable_still_places_the_order_and_the_retry_job_creates_the_intent(
    stripe_order, stripe_settings, settings, customer_client
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_TIMEOUT = 2.0
    order = stripe_order()

    assert order["status"] == "pending"
    assert order["payment"]["status"] == "error"
    assert order["payment"]["client_secret"] is None
    assert "APIConnectionError" in order["payment"]["error"]

    settings.STRIPE_API_BASE = stripe_settings.url
    Payment.objects.filter(order_id=order["id"]).update(updated_at=timezone.now() - timedelta(minutes=1))
    assert retry_payments() == 1

    body = customer_client.get(f"/api/v1/orders/{order['id']}").json()
    assert body["payment"]["status"] == "awaiting"
    assert body["payment"]["client_secret"].startswith("pi_")
    assert body["payment"]["error"] is None


def test_a_payment_for_an_expired_order_is_refunded_on_localstripe(
    stripe_order, stripe_settings, api_client, deliver, django_capture_on_commit_callbacks
):
    order = stripe_order(stock=3, quantity=2)
    payment = Payment.objects.get(order_id=order["id"])
    Order.objects.filter(pk=order["id"]).update(created_at=timezone.now() - timedelta(minutes=31))
    assert order_expire_unpaid() == 1
    book = Book.objects.get(pk=order["items"][0]["book_id"])
    assert book.stock == 3  # the stock came back
    assert Email.objects.filter(key=f"order-cancelled:{order['id']}", subject__contains="expired").exists()

    # The customer completes the payment late; Stripe's webhook arrives after the expiry.
    stripe_settings.pay(payment.provider_payment_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(
            api_client, stripe_settings.event_for(payment.provider_payment_id, "payment_intent.succeeded")
        )

    assert response.json() == {"result": "order cancelled: refund recorded"}
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    [refund] = stripe_settings.refunds(payment.provider_payment_id)
    assert (refund["id"], refund["amount"], refund["status"]) == (payment.provider_refund_id, 2500, "succeeded")
    statuses = list(PaymentEvent.objects.filter(payment=payment).values_list("to_status", flat=True))
    assert statuses == ["creating", "awaiting", "cancelled", "succeeded", "refund_pending", "refunded"]
    assert Book.objects.get(pk=book.pk).stock == 3  # a refund does not touch the stock again


def test_cancelling_a_paid_stripe_order_refunds_it(
    stripe_order, stripe_settings, customer_client, api_client, deliver, django_capture_on_commit_callbacks
):
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    stripe_settings.pay(intent_id)
    deliver(api_client, stripe_settings.event_for(intent_id, "payment_intent.succeeded"))

    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(f"/api/v1/orders/{order['id']}/cancel")

    assert response.status_code == 200
    payment = Payment.objects.get(order_id=order["id"])
    assert payment.status == Payment.Status.REFUNDED
    assert [r["id"] for r in stripe_settings.refunds(intent_id)] == [payment.provider_refund_id]
    email = Email.objects.get(key=f"order-cancelled:{order['id']}")
    assert "being refunded" in email.body_text
    assert "expired" not in email.subject


def test_a_refund_that_fails_stays_pending_and_the_retry_job_finishes_it(
    stripe_order, stripe_settings, settings, customer_client, api_client, deliver, django_capture_on_commit_callbacks
):
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    stripe_settings.pay(intent_id)
    deliver(api_client, stripe_settings.event_for(intent_id, "payment_intent.succeeded"))
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_TIMEOUT = 2.0

    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/api/v1/orders/{order['id']}/cancel")

    payment = Payment.objects.get(order_id=order["id"])
    assert payment.status == Payment.Status.REFUND_PENDING
    assert "APIConnectionError" in payment.last_error
    assert stripe_settings.refunds(intent_id) == []

    settings.STRIPE_API_BASE = stripe_settings.url
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    retry_payments()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert len(stripe_settings.refunds(intent_id)) == 1
    assert retry_payments() == 0  # nothing left to do: no second refund


def test_stripe_orders_expire_after_the_payment_timeout_manual_ones_after_days(stripe_order, customer_client, settings):
    settings.ORDER_PAYMENT_TIMEOUT = timedelta(minutes=30)
    settings.MANUAL_PAYMENT_DAYS = 7
    stripe_fresh, stripe_old = stripe_order(), stripe_order()
    manual = customer_client.post(
        "/api/v1/orders",
        {"items": [{"book_id": stripe_fresh["items"][0]["book_id"], "quantity": 1}]},
        format="json",
    ).json()
    assert manual["payment"] == {
        "provider": "manual",
        "status": "awaiting",
        "client_secret": None,
        "amount": manual["total"],
        "currency": "EUR",
        "error": None,
    }
    now = timezone.now()
    Order.objects.filter(pk=stripe_fresh["id"]).update(created_at=now - timedelta(minutes=29))
    Order.objects.filter(pk__in=[stripe_old["id"], manual["id"]]).update(created_at=now - timedelta(minutes=31))

    assert order_expire_unpaid() == 1

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {stripe_fresh["id"]: "pending", stripe_old["id"]: "cancelled", manual["id"]: "pending"}
    assert Payment.objects.get(order_id=stripe_old["id"]).status == Payment.Status.CANCELLED
    Order.objects.filter(pk=manual["id"]).update(created_at=now - timedelta(days=7, minutes=1))
    assert order_expire_unpaid() == 1
    assert Order.objects.get(pk=manual["id"]).status == "cancelled"


def test_stripe_needs_its_secret_key(customer_client, settings, no_tiers):
    settings.STRIPE_SECRET_KEY = ""
    book = BookFactory(stock=2)
    response = customer_client.post(
        "/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}], "payment_provider": "stripe"}, format="json"
    )
    assert response.status_code == 400
    assert "payment_provider" in response.json()["error"]["details"]
    assert Order.objects.count() == 0
    assert Book.objects.get(pk=book.pk).stock == 2


def test_the_default_provider_comes_from_the_setting(customer_client, stripe_settings, settings, no_tiers):
    settings.PAYMENT_PROVIDER = "stripe"
    book = BookFactory(stock=2)
    body = customer_client.post("/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}]}, format="json")
    assert body.json()["payment"]["provider"] == "stripe"
    assert body.json()["payment"]["client_secret"]


def test_an_idempotent_replay_returns_the_client_secret_of_the_first_response(stripe_order, customer_client):
    book = BookFactory(stock=5)
    data = {"items": [{"book_id": book.pk, "quantity": 1}], "payment_provider": "stripe"}
    first = customer_client.post("/api/v1/orders", data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    replay = customer_client.post("/api/v1/orders", data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.json()["payment"]["client_secret"].startswith("pi_")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Payment.objects.get().attempts == 1


def test_the_placed_email_names_the_payment_window_of_the_provider(stripe_order, customer_client, settings):
    settings.ORDER_PAYMENT_TIMEOUT = timedelta(minutes=30)
    settings.MANUAL_PAYMENT_DAYS = 7
    card = stripe_order()
    book = BookFactory(stock=1)
    manual = customer_client.post("/api/v1/orders", {"items": [{"book_id": book.pk, "quantity": 1}]}, format="json")

    # Rendered by the worker that sends them, with the window taken when the order was placed.
    settings.ORDER_PAYMENT_TIMEOUT = timedelta(minutes=45)
    settings.MANUAL_PAYMENT_DAYS = 9
    card_email = email_rendered(Email.objects.get(key=f"order-placed:{card['id']}"))
    manual_email = email_rendered(Email.objects.get(key=f"order-placed:{manual.json()['id']}"))
    assert "cancelled after 30 minutes" in card_email.body_text
    assert "cancelled after 7 days" in manual_email.body_text


# --- an unpaid order's PaymentIntent is cancelled on Stripe ----------------------------------


def _intent(stripe_settings, intent_id):
    return stripe_settings.get(f"/v1/payment_intents/{intent_id}")


def _notes(payment):
    return list(PaymentEvent.objects.filter(payment=payment).order_by("id").values_list("to_status", "note"))


def test_cancelling_an_unpaid_stripe_order_cancels_its_payment_intent(
    stripe_order, stripe_settings, customer_client, django_capture_on_commit_callbacks
):
    order = stripe_order()
    payment = Payment.objects.get(order_id=order["id"])
    assert _intent(stripe_settings, payment.provider_payment_id)["status"] == "requires_payment_method"

    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(f"/api/v1/orders/{order['id']}/cancel")

    assert response.status_code == 200
    assert _intent(stripe_settings, payment.provider_payment_id)["status"] == "canceled"
    payment.refresh_from_db()
    assert (payment.status, payment.provider_cancel_pending, payment.last_error) == ("cancelled", False, "")
    assert _notes(payment)[-2:] == [
        ("cancelled", "Order cancelled before payment."),
        ("cancelled", f"Stripe: PaymentIntent {payment.provider_payment_id} canceled."),
    ]
    # The customer's browser can no longer pay it.
    with pytest.raises(requests.HTTPError):
        stripe_settings.pay(payment.provider_payment_id)


def test_expiry_cancels_the_payment_intent_on_stripe(stripe_order, stripe_settings, django_capture_on_commit_callbacks):
    order = stripe_order()
    payment = Payment.objects.get(order_id=order["id"])
    Order.objects.filter(pk=order["id"]).update(created_at=timezone.now() - timedelta(minutes=31))

    with django_capture_on_commit_callbacks(execute=True):
        assert order_expire_unpaid() == 1

    assert _intent(stripe_settings, payment.provider_payment_id)["status"] == "canceled"
    payment.refresh_from_db()
    assert not payment.provider_cancel_pending
    assert _notes(payment)[-1][1].endswith("canceled.")


def test_a_cancel_stripe_could_not_take_is_retried_by_the_job(
    stripe_order, stripe_settings, settings, customer_client, django_capture_on_commit_callbacks
):
    order = stripe_order()
    payment = Payment.objects.get(order_id=order["id"])
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_TIMEOUT = 2.0

    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/api/v1/orders/{order['id']}/cancel")

    payment.refresh_from_db()
    assert payment.provider_cancel_pending
    assert "APIConnectionError" in payment.last_error
    assert _intent(stripe_settings, payment.provider_payment_id)["status"] == "requires_payment_method"

    settings.STRIPE_API_BASE = stripe_settings.url
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    assert retry_payments() == 1
    assert _intent(stripe_settings, payment.provider_payment_id)["status"] == "canceled"
    payment.refresh_from_db()
    assert (payment.provider_cancel_pending, payment.last_error) == (False, "")
    assert retry_payments() == 0


def test_an_intent_paid_before_the_cancel_reached_stripe_is_refused_there_and_refunded(
    stripe_order, stripe_settings, api_client, deliver, django_capture_on_commit_callbacks
):
    order = stripe_order()
    payment = Payment.objects.get(order_id=order["id"])
    stripe_settings.pay(payment.provider_payment_id)  # the customer pays as the order expires
    Order.objects.filter(pk=order["id"]).update(created_at=timezone.now() - timedelta(minutes=31))

    with django_capture_on_commit_callbacks(execute=True):
        order_expire_unpaid()
    payment.refresh_from_db()
    assert not payment.provider_cancel_pending  # Stripe's "no" is final: not asked again
    assert _notes(payment)[-1][1].startswith("The provider did not cancel it: InvalidRequestError")

    with django_capture_on_commit_callbacks(execute=True):
        deliver(api_client, stripe_settings.event_for(payment.provider_payment_id, "payment_intent.succeeded"))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert len(stripe_settings.refunds(payment.provider_payment_id)) == 1


def test_an_intent_created_after_its_order_was_cancelled_is_cancelled_too(
    stripe_order, stripe_settings, settings, customer_client, django_capture_on_commit_callbacks
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_TIMEOUT = 2.0
    order = stripe_order()
    payment = Payment.objects.select_related("order").get(order_id=order["id"])
    assert (payment.status, payment.provider_payment_id) == ("error", "")
    # The retry job read the payment, then the customer cancelled, then Stripe answered the job.
    customer_client.post(f"/api/v1/orders/{order['id']}/cancel")
    settings.STRIPE_API_BASE = stripe_settings.url

    with django_capture_on_commit_callbacks(execute=True):
        payment_start(order_id=order["id"], payment=payment)

    payment.refresh_from_db()
    assert payment.status == "cancelled"
    assert payment.provider_payment_id.startswith("pi_")
    assert _intent(stripe_settings, payment.provider_payment_id)["status"] == "canceled"
    assert not payment.provider_cancel_pending


def test_a_webhook_payment_is_in_the_order_history_as_the_system_account(
    stripe_order, stripe_settings, api_client, deliver
):
    order = stripe_order()
    intent_id = Payment.objects.get(order_id=order["id"]).provider_payment_id
    stripe_settings.pay(intent_id)

    assert deliver(api_client, stripe_settings.event_for(intent_id, "payment_intent.succeeded")).status_code == 200

    [entry] = LogEntry.objects.filter(object_id=str(order["id"]), content_type__model="order")
    assert (entry.user.email, entry.get_change_message()) == (SYSTEM_EMAIL, "Changed status (pending → paid).")
    assert not entry.user.is_active
    assert not entry.user.has_usable_password()
