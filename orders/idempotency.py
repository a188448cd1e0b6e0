"""``Idempotency-Key`` for order placement (IETF draft "The Idempotency-Key HTTP Header Field").

The key is claimed by inserting an ``IdempotencyKey`` row (a savepoint at the
start of the order transaction); the unique constraint on (user, key) picks
one winner among concurrent duplicates, with no read-then-write race. The
winner places the order and stores the response in that same transaction, so a
claim never exists without its order and response: a request that fails, or
whose worker is killed, rolls its claim back and the client can retry with the
same key at once. A duplicate waits at the unique index for the winner's
transaction to end, then replays the stored response (same body) or, if the
winner failed, goes ahead itself. Another body under the same key is a 422.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.exceptions import IdempotencyKeyReused, IdempotencyRequestInProgress, InvalidIdempotencyKey
from orders.models import IdempotencyKey, Order

HEADER = "Idempotency-Key"
# Keys and their responses are kept this long; older ones are ignored and purged.
KEY_TTL = timedelta(hours=24)

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
        message = InvalidIdempotencyKey.default_message
        raise InvalidIdempotencyKey(f"Invalid input: {HEADER}: {message}", details={HEADER: [message]})
    return value


def request_fingerprint(data: Any) -> str:
    """SHA-256 of the body as canonical JSON: key order and whitespace do not matter."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(*, user: Any, key: str, fingerprint: str) -> IdempotentResponse | None:
    """Insert the claim for (``user``, ``key``); if the key is taken, the response to replay.

    Runs inside the caller's transaction. While the request that holds the key
    is still running, the insert waits on the unique index (PostgreSQL) or for
    the write lock (SQLite) until that transaction ends; then it either fails
    (the first request committed: replay it) or succeeds (it rolled back: this
    request goes ahead).
    """
    for _attempt in range(3):
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
            return None
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            continue  # purged in between: claim it again
        if existing.created_at < timezone.now() - KEY_TTL or existing.response_status is None:
            # Expired (or a row without a response, which no live request owns): a fresh key.
            IdempotencyKey.objects.filter(pk=existing.pk).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return IdempotentResponse(status=existing.response_status, body=existing.response_body, replayed=True)
    raise IdempotencyRequestInProgress()


def idempotent_run(
    *, user: Any, key: str, fingerprint: str, action: Callable[[], tuple[Order, Any]], status: int = 201
) -> IdempotentResponse:
    """Run ``action`` at most once per (``user``, ``key``) within 24 h; replay its response afterwards.

    ``action`` places the order and returns it with the response body. The
    claim, the order and the stored response commit together, so a failed or
    killed request leaves nothing behind and the key can be used again at once.
    Raises ``IdempotencyKeyReused`` when the key was used with another body.
    """
    with transaction.atomic():
        replay = _claim(user=user, key=key, fingerprint=fingerprint)
        if replay is not None:
            return replay
        order, body = action()
        IdempotencyKey.objects.filter(user=user, key=key).update(
            order=order, response_status=status, response_body=body
        )
    return IdempotentResponse(status=status, body=body, replayed=False)


def idempotency_response_store(*, user: Any, key: str, body: Any) -> None:
    """Replace the stored response of (``user``, ``key``) with ``body``, the response finally sent.

    Order placement stores its response with the order; the payment provider
    answers after that commit, and the response that carries its answer
    (Stripe's client secret) is the one later replays must return.
    """
    IdempotencyKey.objects.filter(user=user, key=key, response_status__isnull=False).update(response_body=body)


def idempotency_key_purge(*, older_than: timedelta = KEY_TTL) -> int:
    """Delete keys created more than ``older_than`` ago; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
