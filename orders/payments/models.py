"""Payment records: what was asked of the provider, what it answered, and every status change.

No card data is ever stored: the provider keeps it, we keep its ids.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.models import Order


class Provider(models.TextChoices):
    MANUAL = "manual", "Manual (bank transfer, pay in shop)"
    STRIPE = "stripe", "Stripe"


class Payment(models.Model):
    """How an order is paid: its provider, the provider's ids, the amount and where the payment stands.

    ``creating`` and ``error``: the provider has not been asked yet or could
    not be reached (``last_error``); ``payment_retry`` asks again.
    ``awaiting``: the customer (Stripe) or the staff (manual) are to act.
    ``refund_pending``: a refund is recorded and is being carried out.
    """

    class Status(models.TextChoices):
        CREATING = "creating", "Being created"
        ERROR = "error", "Provider error (retrying)"
        AWAITING = "awaiting", "Awaiting payment"
        FAILED = "failed", "Last attempt failed"
        SUCCEEDED = "succeeded", "Succeeded"
        REFUND_PENDING = "refund_pending", "Refund pending"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled (never paid)"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    provider_payment_id = models.CharField(
        max_length=255, blank=True, help_text="The provider's id, e.g. Stripe's PaymentIntent id (pi_...)."
    )
    client_secret = models.CharField(
        max_length=255, blank=True, help_text="Handed to the customer's browser to confirm the payment; not card data."
    )
    provider_refund_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Calls made to the provider to create it.")
    provider_cancel_pending = models.BooleanField(
        default=False,
        help_text="Cancelled here; the provider's payment (Stripe's PaymentIntent) is still to be cancelled there.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_amount_non_negative"),
            models.CheckConstraint(condition=Q(provider__in=["manual", "stripe"]), name="payments_provider_valid"),
        ]
        indexes = [
            models.Index(fields=["provider", "provider_payment_id"], name="payments_provider_id_idx"),
            models.Index(fields=["status", "updated_at"], name="payments_status_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} payment for {self.order_id}: {self.status}"


class PaymentEvent(models.Model):
    """One step in a payment's life: status from/to, who or what caused it (staff, webhook, system)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=Payment.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Payment.Status.choices)
    note = models.CharField(max_length=500, blank=True)
    provider_event_id = models.CharField(max_length=255, blank=True, help_text="The webhook event that caused it.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payment_events"
        ordering = ["payment", "at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status or '-'} -> {self.to_status}"


class WebhookEvent(models.Model):
    """A provider's event, recorded by its id before anything acts on it, so a replay changes nothing."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=255, blank=True, help_text="What handling it did.")

    class Meta:
        db_table = "payment_webhook_events"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payment_webhook_events_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
