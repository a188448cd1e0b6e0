"""Periodic account jobs; thin wrappers over the account services, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from accounts.services import (
    PASSWORD_RESET_TASK,
    api_key_usage_flush,
    jwt_tokens_flush_expired,
    password_reset_email_send,
)

logger = logging.getLogger(__name__)
# A database hiccup retries the job with exponential backoff (jittered, at most 10 min apart).
RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(name="accounts.jwt_tokens_flush_expired", acks_late=True, **RETRY)
def flush_expired_tokens() -> int:
    """Delete expired refresh tokens (and their blacklist entries)."""
    deleted = jwt_tokens_flush_expired()
    logger.info("JWT token flush: %s expired token(s) deleted", deleted)
    return deleted


@shared_task(name=PASSWORD_RESET_TASK, acks_late=True, **RETRY)
def password_reset_email(email: str) -> bool:
    """Queue the password reset email for ``email`` if an active account has it (the outbox delivers it)."""
    return password_reset_email_send(email=email)


@shared_task(name="accounts.api_key_usage_flush", acks_late=True, **RETRY)
def flush_api_key_usage() -> int:
    """Copy the API keys' live daily call counters into the usage table (the 30-day report)."""
    written = api_key_usage_flush()
    logger.info("API key usage flush: %s day count(s) written", written)
    return written
