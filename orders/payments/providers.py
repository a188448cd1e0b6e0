"""The payment provider interface and its two implementations.

A provider answers three questions: how long an order waits for its payment
(``payment_window``), what to ask the provider when an order is placed
(``start``) and how to give the money back (``refund``). Only this module talks
to the outside world; callers never hold a database lock while it does.

The ``stripe`` library (with ``requests`` about 8 MiB per process) is imported
inside the Stripe calls only, so a web worker that never takes a card payment
does not carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

from orders.payments.models import Payment, Provider

if TYPE_CHECKING:
    import stripe
    from stripe._base_address import BaseAddresses


class ProviderError(Exception):
    """The provider could not be reached or refused the request; the message is safe to show staff.

    ``refused``: the provider answered no (asking again would not help), as
    opposed to an outage or a timeout.
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Started:
    """What the provider answered when asked to take a payment."""

    status: str
    provider_payment_id: str = ""
    client_secret: str = ""


@dataclass(frozen=True)
class Refunded:
    provider_refund_id: str = ""
    note: str = ""


class PaymentProvider(Protocol):
    name: str

    def payment_window(self) -> timedelta:
        """How long a pending order waits for its payment before it expires."""
        ...

    def start(self, payment: Payment) -> Started:
        """Ask the provider to take ``payment``; safe to call again for the same payment."""
        ...

    def refund(self, payment: Payment) -> Refunded:
        """Give ``payment`` back in full; safe to call again for the same payment."""
        ...

    def cancel(self, payment: Payment) -> str:
        """Withdraw the unpaid ``payment`` at the provider so it can no longer be paid; a note for the record."""
        ...


class ManualProvider:
    """Bank transfer or payment in the shop: staff mark the order paid, and pay refunds back themselves."""

    name: str = Provider.MANUAL

    def payment_window(self) -> timedelta:
        return timedelta(days=settings.MANUAL_PAYMENT_DAYS)

    def start(self, payment: Payment) -> Started:
        return Started(status=Payment.Status.AWAITING)

    def refund(self, payment: Payment) -> Refunded:
        return Refunded(note="Manual payment: staff pay the amount back (bank transfer or in the shop).")

    def cancel(self, payment: Payment) -> str:
        return "Manual payment: nothing to withdraw."


def cents(amount: Decimal) -> int:
    """Stripe takes the amount in the currency's smallest unit (cents for EUR and USD)."""
    return int((amount * 100).to_integral_value())


class StripeProvider:
    """Stripe PaymentIntents through the official library; the customer confirms with Stripe's client."""

    name: str = Provider.STRIPE

    def payment_window(self) -> timedelta:
        window: timedelta = settings.ORDER_PAYMENT_TIMEOUT
        return window

    def _client(self) -> stripe.StripeClient:
        import stripe

        # Empty: Stripe itself; STRIPE_API_BASE points the library elsewhere (localstripe in tests).
        base: BaseAddresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base,
            http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
            max_network_retries=1,
        )

    def start(self, payment: Payment) -> Started:
        import stripe

        order = payment.order
        try:
            intent = self._client().v1.payment_intents.create(
                params={
                    "amount": cents(payment.amount),
                    "currency": payment.currency.lower(),
                    "metadata": {"order_id": str(order.pk), "order_number": order.number},
                },
                # Derived from the order: a retry after a lost answer gets the same intent back.
                options={"idempotency_key": f"order-{order.pk}-payment-{payment.pk}"},
            )
        except stripe.StripeError as exc:
            raise ProviderError(_stripe_message(exc)) from exc
        return Started(
            status=Payment.Status.AWAITING, provider_payment_id=intent.id, client_secret=intent.client_secret or ""
        )

    def refund(self, payment: Payment) -> Refunded:
        import stripe

        try:
            refund = self._client().v1.refunds.create(
                params={"payment_intent": payment.provider_payment_id, "metadata": {"order_id": str(payment.order_id)}},
                options={"idempotency_key": f"refund-payment-{payment.pk}"},
            )
        except stripe.StripeError as exc:
            raise ProviderError(_stripe_message(exc)) from exc
        return Refunded(provider_refund_id=refund.id, note=f"Stripe refund {refund.status}.")

    def cancel(self, payment: Payment) -> str:
        import stripe

        try:
            intent = self._client().v1.payment_intents.cancel(
                payment.provider_payment_id, options={"idempotency_key": f"cancel-payment-{payment.pk}"}
            )
        except stripe.InvalidRequestError as exc:
            # Already paid (the webhook refunds it), or cancelled before: Stripe's answer is final.
            raise ProviderError(_stripe_message(exc), refused=True) from exc
        except stripe.StripeError as exc:
            raise ProviderError(_stripe_message(exc)) from exc
        return f"Stripe: PaymentIntent {intent.id} {intent.status}."


def _stripe_message(exc: stripe.StripeError) -> str:
    kind = type(exc).__name__
    detail = exc.user_message or str(exc).splitlines()[0]
    return f"{kind}: {detail}"[:500]


PROVIDERS: dict[str, PaymentProvider] = {Provider.MANUAL: ManualProvider(), Provider.STRIPE: StripeProvider()}


def provider_get(name: str) -> PaymentProvider:
    return PROVIDERS[name]


def provider_available(name: str) -> bool:
    """Stripe needs its secret key; manual payment is always available."""
    return name == Provider.MANUAL or (name == Provider.STRIPE and bool(settings.STRIPE_SECRET_KEY))
