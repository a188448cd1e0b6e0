"""The outbox: queue an email inside the caller's transaction, deliver it once.

Any app queues mail with ``email_queue(...)`` inside its own
``transaction.atomic()``; the row commits or rolls back with the change that
caused it. After the commit a task is sent to the broker; if the broker is
down the row stays ``queued`` and ``email_sweep`` (a periodic job) sends the
task later. ``email_deliver`` claims the row with a conditional update
(queued → sending, with a lease) before it talks to the SMTP server, so two
workers never both send it, and marks it sent afterwards.

An email queued with ``email_build_deferred`` is not rendered in the
request: its row holds a JSON snapshot of the template's context, and the
worker that claims it renders it once (``email_rendered``) and stores the
result before sending.

Emails queued at a high rate (order confirmations) are queued ``batched``:
instead of one task per email, a web process sends one drain task for every
``EMAIL_DISPATCH_BATCH_SECONDS`` in which it queues such emails, delayed by
that long; when it runs, the drain dispatches every email that is still
queued, never tried, and was created in that window (``email_drain``). A web
process runs one request at a time, so the emails it queues in a window were
created after the first of them; emails of other processes in the window are
dispatched too, which is harmless (the claim picks one delivery). An email
the drain misses (the broker was down, a clock ran ahead) is the sweep's, as
any lost task is.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Email
from telemetry.metrics import EMAILS_FAILED, EMAILS_QUEUED, EMAILS_SENT, count_on_commit

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.email_deliver"
DRAIN_TASK = "notifications.email_drain"
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)


class Outcome(StrEnum):
    SENT = "sent"
    ALREADY_DONE = "already_done"  # sent or failed before; nothing to do
    HELD = "held"  # another worker holds the lease right now
    RETRY = "retry"  # failed this time; queued again for later


def store_context() -> dict[str, Any]:
    """What every email template may use: the store's name and address."""
    return {"store_name": settings.STORE_NAME, "store_address": settings.STORE_ADDRESS}


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after ``attempts`` failed attempts: 30 s, 1 min, 2 min, ... at most 1 h."""
    seconds = RETRY_BASE.total_seconds() * 2 ** min(max(attempts - 1, 0), 20)
    return min(timedelta(seconds=seconds), RETRY_MAX)


def _message_id() -> str:
    return f"<{uuid.uuid4().hex}@{settings.STORE_NAME.lower().replace(' ', '-') or 'store'}.email>"


def email_dispatch(*, email_id: int) -> bool:
    """Send the delivery task to the broker; False (logged) if the broker cannot be reached.

    Never raises: a broker outage must not fail the request that queued the
    email. The row stays queued and the sweep dispatches it later.
    """
    try:
        current_app.send_task(DELIVER_TASK, kwargs={"email_id": email_id})
    except Exception:
        logger.warning("email %s: broker unavailable, the outbox sweep will send it", email_id, exc_info=True)
        return False
    return True


def email_build(*, to: str, template: str, context: Mapping[str, Any], key: str | None = None) -> Email:
    """The outbox row ``email_queue`` records: rendered, not saved yet.

    For a caller that inserts it together with rows of its own (one statement);
    it then calls ``email_queued`` in the same transaction.
    """
    subject, body_text, body_html = email_render(template=template, context={**store_context(), **context})
    return _outbox_row(to=to, template=template, key=key, subject=subject, body_text=body_text, body_html=body_html)


def _outbox_row(*, to: str, template: str, key: str | None, **content: Any) -> Email:
    """A new outbox row for ``to`` (not saved): its Message-ID, and due for the sweep after the grace period."""
    return Email(
        key=key,
        template=template,
        to=to,
        message_id=_message_id(),
        due_at=timezone.now() + settings.EMAIL_SWEEP_GRACE,
        **content,
    )


# How a Decimal is kept in a JSON snapshot, so the template shows it exactly as it would the Decimal.
_DECIMAL_TAG = "$decimal"


def _snapshot(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {_DECIMAL_TAG: str(value)}
    if isinstance(value, Mapping):
        return {str(name): _snapshot(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_snapshot(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"an email context snapshot holds JSON values and Decimals, not {type(value).__name__}")


def _restored(value: Any) -> Any:
    if isinstance(value, dict):
        if value.keys() == {_DECIMAL_TAG}:
            return Decimal(value[_DECIMAL_TAG])
        return {name: _restored(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_restored(item) for item in value]
    return value


def email_build_deferred(*, to: str, template: str, context: Mapping[str, Any], key: str | None = None) -> Email:
    """Like ``email_build``, but not rendered: the row keeps a snapshot of ``context`` to render when it is sent.

    ``context`` holds JSON values (strings, numbers, booleans, ``None``, lists,
    mappings) and Decimals only, taken now, so later changes to what it was
    taken from do not alter the email. The worker that sends it renders it
    (``email_rendered``) with the same templates and the store's name and
    address as they are now: the same subject and bodies ``email_build``
    gives.
    """
    snapshot = _snapshot({**store_context(), **context})
    return _outbox_row(to=to, template=template, key=key, subject="", body_text="", body_html="", context=snapshot)


def email_render(*, template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """The subject, text body and HTML body of ``template`` rendered with ``context`` (taken as it is)."""
    subject = " ".join(render_to_string(f"{template}.subject.txt", context).split())
    return subject[:255], render_to_string(f"{template}.txt", context), render_to_string(f"{template}.html", context)


def email_rendered(email: Email) -> Email:
    """``email`` with its subject and bodies: rendered from its snapshot now if it was queued unrendered.

    Does not save it (``email_deliver`` does, once it holds the email's lease).
    """
    if email.context is not None:
        email.subject, email.body_text, email.body_html = email_render(
            template=email.template, context=_restored(email.context)
        )
        email.context = None
    return email


def email_queued(email: Email, *, batched: bool = False) -> None:
    """``email`` (from ``email_build``) was inserted in the current transaction: send it after the commit.

    ``batched``: by this process's drain task for the window of its commit
    (``EMAIL_DISPATCH_BATCH_SECONDS``; the module's docstring), not by a task
    of its own.
    """
    email_id = email.pk
    if batched and settings.EMAIL_DISPATCH_BATCH_SECONDS > 0:
        created_at = email.created_at
        transaction.on_commit(lambda: _drain_request(since=created_at), robust=True)
    else:
        transaction.on_commit(lambda: email_dispatch(email_id=email_id), robust=True)
    count_on_commit(EMAILS_QUEUED)


class _DrainWindow:
    """Until when the drain task this process sent last covers the emails it queues (one request at a time)."""

    until: datetime | None = None


def _drain_request(*, since: datetime) -> None:
    """After the commit of a batched email created at ``since``: send a drain task unless one covers it.

    The task runs ``EMAIL_DISPATCH_BATCH_SECONDS`` later and dispatches the
    emails created from ``since`` until then; so later emails of this process
    committed before then need no task of their own. Never raises; if the
    broker cannot be reached, the next batched email tries again and the sweep
    sends this one.
    """
    now = timezone.now()
    if _DrainWindow.until is not None and now < _DrainWindow.until:
        return
    until = now + timedelta(seconds=settings.EMAIL_DISPATCH_BATCH_SECONDS)
    try:
        current_app.send_task(
            DRAIN_TASK,
            kwargs={"since": since.isoformat(), "until": until.isoformat()},
            countdown=settings.EMAIL_DISPATCH_BATCH_SECONDS,
        )
    except Exception:
        logger.warning("email drain: broker unavailable, the outbox sweep will send the emails", exc_info=True)
        return
    _DrainWindow.until = until


def email_drain(*, since: datetime, until: datetime, batch: int = 500) -> int:
    """Dispatch every email created in [``since``, ``until``) that is still queued and was never tried.

    A drain task's work (``email_queued(..., batched=True)``). Emails already
    dispatched and not yet claimed are dispatched again, which is harmless;
    retried ones (``attempts`` > 0) wait for their backoff and the sweep.
    Returns how many it dispatched.
    """
    fresh = Email.objects.filter(
        state=Email.State.QUEUED, attempts=0, created_at__gte=since, created_at__lt=until
    ).order_by("pk")
    dispatched, after = 0, 0
    while True:
        ids = list(fresh.filter(pk__gt=after).values_list("pk", flat=True)[:batch])
        dispatched += sum(email_dispatch(email_id=email_id) for email_id in ids)
        if len(ids) < batch:
            return dispatched
        after = ids[-1]


def email_queue(*, to: str, template: str, context: Mapping[str, Any], key: str | None = None) -> Email:
    """Render ``template`` for ``to`` and record it in the outbox; send it after the commit.

    Call it inside the transaction of the change that causes the email. The
    template name is a prefix: ``<template>.subject.txt``, ``<template>.txt``
    and ``<template>.html`` (the last two usually extend
    ``notifications/email/base.*`` for the store's name and address). With
    ``key``, queuing the same key again returns the first email and adds none
    (nor renders it again).
    """
    # No savepoint: inside the caller's transaction this adds no queries of its own.
    with transaction.atomic(savepoint=False):
        if key is not None and (existing := Email.objects.filter(key=key).first()) is not None:
            return existing
        email = email_build(to=to, template=template, context=context, key=key)
        email.save(force_insert=True)
        email_queued(email)
    return email


def _claim(email_id: int, now: datetime) -> bool:
    """queued (or sending with an expired lease) → sending with a fresh lease; True if this caller won."""
    claimable = Q(state=Email.State.QUEUED) | Q(state=Email.State.SENDING, due_at__lt=now)
    return bool(
        Email.objects.filter(claimable, pk=email_id).update(
            state=Email.State.SENDING,
            due_at=now + settings.EMAIL_SEND_LEASE,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )


def _send(email: Email) -> None:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": email.message_id},
    )
    message.attach_alternative(email.body_html, "text/html")
    message.send(fail_silently=False)


def email_deliver(*, email_id: int) -> Outcome:
    """Deliver one queued email, at most once even if several workers try at the same time.

    Returns ``SENT``, ``ALREADY_DONE`` (sent or given up before, or gone),
    ``HELD`` (another worker's lease is running) or ``RETRY`` (this attempt
    failed; the row is queued again with a backoff, or ``failed`` after
    ``EMAIL_MAX_ATTEMPTS``). The only duplicate left possible is a worker
    dying after the SMTP server accepted the message and before the row is
    marked sent; the stable ``Message-ID`` lets receivers drop that copy.
    """
    now = timezone.now()
    if not _claim(email_id, now):
        state = Email.objects.filter(pk=email_id).values_list("state", flat=True).first()
        return Outcome.HELD if state == Email.State.SENDING else Outcome.ALREADY_DONE
    email = Email.objects.get(pk=email_id)
    try:
        if email.context is not None:
            # Queued unrendered: render it once, under the lease; a retry sends what is stored.
            email_rendered(email)
            Email.objects.filter(pk=email_id, context__isnull=False).update(
                subject=email.subject, body_text=email.body_text, body_html=email.body_html, context=None
            )
        _send(email)
    except Exception as exc:
        final = email.attempts >= settings.EMAIL_MAX_ATTEMPTS
        Email.objects.filter(pk=email_id, state=Email.State.SENDING).update(
            state=Email.State.FAILED if final else Email.State.QUEUED,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            due_at=timezone.now() + retry_delay(email.attempts),
            updated_at=timezone.now(),
        )
        EMAILS_FAILED.inc()
        logger.warning("email %s: attempt %s failed: %s", email_id, email.attempts, exc)
        if final:
            return Outcome.ALREADY_DONE
        return Outcome.RETRY
    done = timezone.now()
    Email.objects.filter(pk=email_id).update(state=Email.State.SENT, sent_at=done, last_error="", updated_at=done)
    EMAILS_SENT.inc()
    logger.info("email %s sent to the SMTP server (attempt %s)", email_id, email.attempts)
    return Outcome.SENT


def email_lease_remaining(*, email_id: int) -> timedelta:
    """How long until the current lease on ``email_id`` ends (zero if none)."""
    due = Email.objects.filter(pk=email_id, state=Email.State.SENDING).values_list("due_at", flat=True).first()
    return max(due - timezone.now(), timedelta(0)) if due else timedelta(0)


def email_sweep(*, limit: int = 500) -> int:
    """Dispatch queued emails whose task was lost or whose retry is due, and expired leases.

    Dispatching twice is harmless (the claim picks one delivery), so the
    sweep needs no bookkeeping of its own. Returns how many it dispatched.
    """
    now = timezone.now()
    due = Q(state=Email.State.QUEUED) | Q(state=Email.State.SENDING)
    ids = list(Email.objects.filter(due, due_at__lte=now).order_by("due_at").values_list("pk", flat=True)[:limit])
    dispatched = sum(email_dispatch(email_id=email_id) for email_id in ids)
    if ids:
        logger.info("email sweep: %s of %s due email(s) dispatched", dispatched, len(ids))
    return dispatched


def email_resend(*, email: Email) -> bool:
    """Queue ``email`` again (staff action): a sent or failed email goes out once more.

    Returns False for an email that is queued or being sent already. The new
    delivery has a fresh ``Message-ID`` so receivers do not drop it as a copy.
    """
    with transaction.atomic():
        updated = Email.objects.filter(pk=email.pk, state__in=[Email.State.SENT, Email.State.FAILED]).update(
            state=Email.State.QUEUED,
            attempts=0,
            last_error="",
            message_id=_message_id(),
            due_at=timezone.now() + settings.EMAIL_SWEEP_GRACE,
            updated_at=timezone.now(),
        )
        if updated:
            email_id = email.pk
            transaction.on_commit(lambda: email_dispatch(email_id=email_id), robust=True)
            count_on_commit(EMAILS_QUEUED)
    return bool(updated)


def email_list_to(*, to: str) -> list[dict[str, Any]]:
    """Every email the outbox holds for the address ``to``, oldest first (a personal data export)."""
    emails = Email.objects.filter(to__iexact=to).order_by("created_at", "id")
    return [
        {
            "subject": email.subject,
            "template": email.template,
            "state": email.state,
            "created_at": email.created_at,
            "sent_at": email.sent_at,
            "body_text": email.body_text,
        }
        for email in map(email_rendered, emails)
    ]


def emails_erase(*, to: str, replacement: str) -> int:
    """Erase what the outbox holds on the address ``to``; returns how many emails it touched.

    The rows stay (as a count of what was sent) with ``replacement`` as the
    address and no body; emails not yet sent are not sent any more (``failed``).
    """
    now = timezone.now()
    with transaction.atomic():
        pending = Email.objects.filter(to__iexact=to, state__in=[Email.State.QUEUED, Email.State.SENDING])
        pending.update(state=Email.State.FAILED, last_error="Recipient's personal data erased.", updated_at=now)
        return Email.objects.filter(to__iexact=to).update(
            to=replacement, body_text="", body_html="", context=None, updated_at=now
        )
