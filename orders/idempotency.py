"""``Idempotency-Key`` for order placement (IETF draft "The Idempotency-Key HTTP Header Field").

A request claims its key by inserting an ``IdempotencyKey`` row in its own
short transaction; the unique constraint on (user, key) picks one winner among
concurrent duplicates, with no read-then-write race. The winner places the
order and stores the response in the *same* transaction as the order, so an
order never exists without its stored response. A duplicate with the same body
replays the stored response; one that arrives while the winner is still running
polls for a bounded time and replays, or gets ``409``. A request that fails
releases its claim, so the client can retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orders.exceptions import IdempotencyKeyReused, IdempotencyRequestInProgress, InvalidOrder
from orders.models import IdempotencyKey, Order

HEADER = "Idempotency-Key"
# Keys and their responses are kept this long; older ones are ignored and purged.
KEY_TTL = timedelta(hours=24)
# A claim that has produced no response after this long belongs to a request
# that died (its transaction rolled back); it may be taken over.
ABANDONED_AFTER = timedelta(minutes=5)
# How long a duplicate waits for the first request to finish before answering 409.
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.05

_KEY_RE = re.compile(r"[\x20-\x7e]{1,255}")


@dataclass(frozen=True)
class IdempotentResponse:
    status: int
    body: Any
    replayed: bool


def idempotency_key_parse(raw: str | None) -> str | None:
    """The key from the header value, or None without a header.

    1-255 printable ASCII characters; the draft's structured-field form
    (a quoted string, ``"8e03978e-..."``) is accepted and unquoted.
    """
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not _KEY_RE.fullmatch(value):
        message = f"{HEADER} must be 1 to 255 printable ASCII characters."
        raise InvalidOrder(f"Invalid input: {HEADER}: {message}", details={HEADER: [message]})
    return value


def request_fingerprint(data: Any) -> str:
    """SHA-256 of the body as canonical JSON: key order and whitespace do not matter."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert_claim(*, user: Any, key: str, fingerprint: str) -> IdempotencyKey | None:
    try:
        # Its own transaction (or savepoint): the claim is visible to duplicates
        # before the order is placed, and a lost race leaves nothing behind.
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
    except IntegrityError:
        return None


def _is_reclaimable(record: IdempotencyKey, now: datetime) -> bool:
    """Expired, or a claim whose request died without producing a response."""
    if record.created_at < now - KEY_TTL:
        return True
    return record.response_status is None and record.created_at < now - ABANDONED_AFTER


def _delete_if_reclaimable(record: IdempotencyKey, now: datetime) -> bool:
    # The same test in the WHERE clause: a claim completed meanwhile is kept.
    reclaimable = Q(created_at__lt=now - KEY_TTL) | Q(
        response_status__isnull=True, created_at__lt=now - ABANDONED_AFTER
    )
    deleted, _ = IdempotencyKey.objects.filter(reclaimable, pk=record.pk).delete()
    return bool(deleted)


def _claim_or_replay(*, user: Any, key: str, fingerprint: str) -> IdempotencyKey | IdempotentResponse:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        claim = _insert_claim(user=user, key=key, fingerprint=fingerprint)
        if claim is not None:
            return claim
        while True:
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
            if existing is None:
                break  # released by a failed request: claim it again
            now = timezone.now()
            if _is_reclaimable(existing, now) and _delete_if_reclaimable(existing, now):
                break
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if existing.response_status is not None:
                return IdempotentResponse(status=existing.response_status, body=existing.response_body, replayed=True)
            if time.monotonic() >= deadline:
                raise IdempotencyRequestInProgress()
            time.sleep(POLL_SECONDS)
        if time.monotonic() >= deadline:
            raise IdempotencyRequestInProgress()


def idempotent_run(
    *, user: Any, key: str, fingerprint: str, action: Callable[[], tuple[Order, Any]], status: int = 201
) -> IdempotentResponse:
    """Run ``action`` at most once per (``user``, ``key``) within 24 h, replaying its response after.

    ``action`` places the order and returns it with the response body. Raises
    ``IdempotencyKeyReused`` when the key came with another body, and
    ``IdempotencyRequestInProgress`` when the first request is still running
    after a short wait. If ``action`` fails the claim is released.
    """
    outcome = _claim_or_replay(user=user, key=key, fingerprint=fingerprint)
    if isinstance(outcome, IdempotentResponse):
        return outcome
    claim = outcome
    try:
        with transaction.atomic():
            order, body = action()
            stored = IdempotencyKey.objects.filter(pk=claim.pk, response_status__isnull=True).update(
                order=order, response_status=status, response_body=body
            )
            if stored != 1:
                # The claim was taken over as abandoned: the other request owns the key now.
                raise IdempotencyRequestInProgress()
    except BaseException:
        IdempotencyKey.objects.filter(pk=claim.pk, response_status__isnull=True).delete()
        raise
    return IdempotentResponse(status=status, body=body, replayed=False)


def idempotency_key_purge(*, older_than: timedelta = KEY_TTL) -> int:
    """Delete keys created more than ``older_than`` ago; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
