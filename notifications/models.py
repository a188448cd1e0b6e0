"""The email outbox: every email the store sends is a row here first."""

from __future__ import annotations

from django.db import models


class Email(models.Model):
    """One email, queued with the change that causes it and delivered by a worker.

    Queued in the same transaction as the change that causes it, so it exists
    exactly when that change does. Most are rendered when queued; one queued
    with ``context`` (a JSON snapshot of what its templates show, taken in that
    transaction) is rendered by the worker that first claims it, which stores
    the subject and bodies and empties ``context``. A worker claims it (``sending`` with a
    lease) before talking to the SMTP server, so two workers never send it
    both; a worker that dies mid-send frees it when the lease runs out.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="Identifies the event the email is about; queuing the same key again adds nothing.",
    )
    template = models.CharField(max_length=200)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField()
    context = models.JSONField(
        null=True,
        blank=True,
        help_text="Not rendered yet: what the templates are rendered with (emptied once they are).",
    )
    message_id = models.CharField(max_length=255, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Queued: the sweep dispatches it from this time on. Sending: the lease ends then.
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "emails"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "due_at"], name="emails_state_due_at_idx")]

    def __str__(self) -> str:
        # Queued with a context snapshot, it has no subject until a worker renders it.
        return f"{self.subject or self.template} → {self.to} ({self.state})"
