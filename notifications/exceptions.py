"""Errors of the email outbox."""

from __future__ import annotations


class EmailDeliveryFailed(Exception):
    """The SMTP server (or the configured backend) refused or could not be reached; retry later."""
