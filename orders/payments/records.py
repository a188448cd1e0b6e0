"""Writes on payment records.

The ``payment_on_*`` functions run inside the order's own transaction (the
order row is locked by the caller), so a payment's status always moves with
its order's. Calls to the provider (``payment_start``, ``payment_refund_run``)
run after the commit, never under a lock, and are safe to run twice: the
provider call carries an idempotency key derived from the payment, and the
answer is written only if the record still waits for it. ``payment_retry``
(a periodic job) finishes whatever a crash, a timeout or an outage left undone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders.exceptions import PaymentNotRefundable
from orders.models import Order
from orders.payments.models import Payment, PaymentEvent
from orders.payments.providers import ProviderError, provider_get

logger = logging.getLogger(__name__)

PayStatus = Payment.Status
# A record this long in ``creating``/``error``/``refund_pending`` is taken up by the retry job.
RETRY_AFTER = timedelta(seconds=30)
UNPAID = frozenset({PayStatus.CREATING, PayStatus.ERROR, PayStatus.AWAITING, PayStatus.FAILED})


def payment_set_status(
    payment: Payment, to: str, *, note: str = "", by: Any = None, provider_event_id: str = "", **fields: Any
) -> Payment:
    """Move ``payment`` to ``to`` (with any other ``fields``) and log the change; the caller holds the lock."""
    from_status = payment.status
    payment.status = to
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.save(update_fields=["status", "updated_at", *fields])
    PaymentEvent.objects.create(
        payment=payment,
        from_status=from_status,
        to_status=to,
        note=note[:500],
        by=by,
        provider_event_id=provider_event_id,
    )
    return payment


def payment_build(*, order: Order, provider: str, by: Any) -> tuple[Payment, PaymentEvent]:
    """The payment record of a new order and its first event, not saved yet (``payment_record`` saves them)."""
    start = PayStatus.CREATING if provider != "manual" else PayStatus.AWAITING
    payment = Payment(
        order=order, provider=provider, status=start, amount=order.total, currency=settings.STORE_CURRENCY
    )
    return payment, PaymentEvent(payment=payment, from_status="", to_status=start, by=by)


def payment_record(*, order: Order, provider: str, by: Any) -> Payment:
    """Record how ``order`` will be paid; runs inside order placement. No provider call here."""
    payment, event = payment_build(order=order, provider=provider, by=by)
    payment.save(force_insert=True)
    event.save(force_insert=True)
    return payment


def payment_start(*, order_id: int, payment: Payment | None = None) -> Payment | None:
    """Ask the provider to take the order's payment, after the placing transaction has committed.

    Stripe: creates the PaymentIntent and stores its id and client secret. If
    Stripe cannot be reached the order stays placed and the payment shows
    ``error`` with the reason; ``payment_retry`` asks again. Does nothing for a
    payment that has been started already, so callers may call it freely.
    ``payment`` is the order's payment when the caller has it in hand (the
    placing request does), which saves reading it back.
    """
    if payment is None:
        payment = Payment.objects.select_related("order").filter(order_id=order_id).first()
    if payment is None or payment.status not in (PayStatus.CREATING, PayStatus.ERROR):
        return payment
    Payment.objects.filter(pk=payment.pk).update(attempts=payment.attempts + 1)
    try:
        started = provider_get(payment.provider).start(payment)
    except ProviderError as exc:
        logger.warning("payment %s: provider call failed: %s", payment.pk, exc)
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.status in (PayStatus.CREATING, PayStatus.ERROR):
                payment_set_status(locked, PayStatus.ERROR, note=str(exc), last_error=str(exc))
            return locked
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status in (PayStatus.CREATING, PayStatus.ERROR):
            payment_set_status(
                locked,
                started.status,
                note=f"{payment.provider}: {started.provider_payment_id}".rstrip(": "),
                provider_payment_id=started.provider_payment_id,
                client_secret=started.client_secret,
                last_error="",
            )
        elif not locked.provider_payment_id and started.provider_payment_id:
            # Cancelled meanwhile (expired): the intent id is kept, so a late payment can be refunded,
            # and the intent is cancelled at the provider like any other of a cancelled order.
            locked.provider_payment_id = started.provider_payment_id
            locked.save(update_fields=["provider_payment_id", "updated_at"])
            if locked.status == PayStatus.CANCELLED:
                _provider_cancel_request(locked)
    return locked


def payment_on_order_paid(*, order: Order, by: Any) -> None:
    """The order has just become paid (staff marked it, or the provider's webhook): record it."""
    payment = Payment.objects.select_for_update().filter(order=order).first()
    if payment is not None and payment.status in UNPAID:
        payment_set_status(payment, PayStatus.SUCCEEDED, note="Marked paid.", by=by)


def payment_on_order_cancelled(*, order: Order, by: Any) -> bool:
    """The order has just been cancelled: a succeeded payment is refunded, any other is closed.

    Returns True if a refund was recorded (carried out after the commit).
    """
    payment = Payment.objects.select_for_update().filter(order=order).first()
    if payment is None:
        return False
    if payment.status == PayStatus.SUCCEEDED:
        payment_refund_request(payment=payment, by=by, note="Order cancelled after payment.")
        return True
    if payment.status in UNPAID:
        payment_set_status(payment, PayStatus.CANCELLED, note="Order cancelled before payment.", by=by)
        if payment.provider_payment_id:
            _provider_cancel_request(payment)
    return False


def _provider_cancel_request(payment: Payment) -> None:
    """Record that the provider's payment is to be cancelled (in the caller's transaction); cancel after the commit."""
    Payment.objects.filter(pk=payment.pk).update(provider_cancel_pending=True, updated_at=timezone.now())
    payment.provider_cancel_pending = True
    payment_id = payment.pk
    transaction.on_commit(lambda: payment_cancel_run(payment_id=payment_id), robust=True)


def payment_cancel_run(*, payment_id: int) -> Payment | None:
    """Cancel a cancelled order's payment at the provider (Stripe: the PaymentIntent), and record the answer.

    An outage is kept in ``last_error`` and ``payment_retry`` asks again. A
    refusal is final and recorded: the intent was paid meanwhile (its webhook
    refunds the money) or was cancelled already.
    """
    payment = Payment.objects.filter(pk=payment_id, provider_cancel_pending=True).first()
    if payment is None:
        return None
    try:
        note = provider_get(payment.provider).cancel(payment)
    except ProviderError as exc:
        logger.warning("payment %s: cancel at the provider failed: %s", payment.pk, exc)
        if not exc.refused:
            Payment.objects.filter(pk=payment.pk).update(last_error=str(exc), updated_at=timezone.now())
            return payment
        note = f"The provider did not cancel it: {exc}"
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.provider_cancel_pending:
            locked.provider_cancel_pending = False
            locked.last_error = ""
            locked.save(update_fields=["provider_cancel_pending", "last_error", "updated_at"])
            PaymentEvent.objects.create(
                payment=locked, from_status=locked.status, to_status=locked.status, note=note[:500]
            )
    return locked


def payment_refund_request(*, payment: Payment, by: Any, note: str, provider_event_id: str = "") -> None:
    """Record that ``payment`` is to be refunded (inside the caller's transaction); refund after the commit."""
    payment_set_status(payment, PayStatus.REFUND_PENDING, note=note, by=by, provider_event_id=provider_event_id)
    payment_id = payment.pk
    transaction.on_commit(lambda: payment_refund_run(payment_id=payment_id), robust=True)


def payment_refund_run(*, payment_id: int) -> Payment | None:
    """Carry out a recorded refund at the provider; a failure is kept in ``last_error`` for the retry job."""
    payment = Payment.objects.filter(pk=payment_id, status=PayStatus.REFUND_PENDING).first()
    if payment is None:
        return None
    try:
        refunded = provider_get(payment.provider).refund(payment)
    except ProviderError as exc:
        logger.warning("payment %s: refund failed: %s", payment.pk, exc)
        Payment.objects.filter(pk=payment.pk).update(last_error=str(exc), updated_at=timezone.now())
        return payment
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == PayStatus.REFUND_PENDING:
            payment_set_status(
                locked,
                PayStatus.REFUNDED,
                note=refunded.note,
                provider_refund_id=refunded.provider_refund_id,
                last_error="",
            )
    return locked


def payment_retry(*, now: datetime | None = None, limit: int = 100) -> int:
    """Finish provider calls left undone (Stripe unreachable, a crash): create intents, refunds, cancellations.

    Returns how many records it tried. Safe to run at any time, twice at once included.
    """
    cutoff = (now or timezone.now()) - RETRY_AFTER
    stuck = list(
        Payment.objects.filter(
            Q(
                status__in=[PayStatus.CREATING, PayStatus.ERROR, PayStatus.REFUND_PENDING],
                order__status__in=[Order.Status.PENDING, Order.Status.PAID, Order.Status.CANCELLED],
            )
            | Q(provider_cancel_pending=True),
            updated_at__lt=cutoff,
        )
        .order_by("updated_at")
        .values_list("pk", "order_id", "status", "provider_cancel_pending")[:limit]
    )
    for payment_id, order_id, status, cancel_pending in stuck:
        if cancel_pending:
            payment_cancel_run(payment_id=payment_id)
        elif status == PayStatus.REFUND_PENDING:
            payment_refund_run(payment_id=payment_id)
        else:
            payment_start(order_id=order_id)
    return len(stuck)


def payment_refund(*, order: Order, by: Any) -> Payment:
    """Refund ``order``'s payment in full (staff, from the admin); the order keeps its status.

    Raises ``PaymentNotRefundable`` unless the payment has succeeded.
    """
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        payment = Payment.objects.select_for_update().filter(order=order).first()
        if payment is None or payment.status != PayStatus.SUCCEEDED:
            status = payment.status if payment else "none"
            raise PaymentNotRefundable(
                f"Order {order.number}: only a succeeded payment can be refunded (payment is {status}).",
                details={"payment": status},
            )
        payment_refund_request(payment=payment, by=by, note="Refunded by staff.")
    return payment
