"""The admin's history (``django.contrib.admin`` LogEntry) written by the services, whatever called them.

Changes to prices, stock, coupons and order status are recorded here by the
service that makes them (``catalog.services``, ``orders.services``), so the
admin, the API, management commands and jobs all leave the same trace on the
object's History page and in "Recent actions". The entry names who acted:
the signed-in user, or the ``system`` account for jobs and payment webhooks
(an inactive account that cannot sign in, created on first use).

Messages use Django's JSON form (``[{"changed": {"fields": [...]}}]``), so the
admin renders and translates them; each field carries its old and new value,
e.g. "Changed price (10.00 → 12.00)."

The admin's own save logging would repeat a change a service already
recorded: ``AuditedAdminMixin`` drops those fields from the admin's message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

SYSTEM_EMAIL = "system@bookstore.invalid"

__all__ = [
    "ADDITION",
    "CHANGE",
    "DELETION",
    "AuditedAdminMixin",
    "audit_capture",
    "audit_record",
    "audit_records",
    "system_user",
]

#: Within ``audit_capture``: (content type id, object id, field) of every change recorded so far.
_captured: ContextVar[set[tuple[int, str, str]] | None] = ContextVar("audit_captured", default=None)


def system_user() -> Any:
    """The account jobs and webhooks act as in the history: inactive, no usable password, never staff."""
    user_model = get_user_model()
    manager = user_model._default_manager
    user = manager.filter(email=SYSTEM_EMAIL).first()
    if user is None:
        user = user_model(email=SYSTEM_EMAIL, first_name="System", is_active=False)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # a concurrent job created it first
            user = manager.get(email=SYSTEM_EMAIL)
    return user


def _actor_id(by: Any) -> int:
    if by is not None and getattr(by, "pk", None) is not None and getattr(by, "is_authenticated", False):
        return int(by.pk)
    return int(system_user().pk)


def _show(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def changed_fields(changes: Mapping[str, tuple[Any, Any]]) -> list[str]:
    """``{"price": (old, new)}`` as the field labels of the message: ``["price (10.00 → 12.00)"]``."""
    return [f"{name} ({_show(old)} → {_show(new)})" for name, (old, new) in changes.items()]


def _message(action: int, fields: Sequence[str], about: tuple[str, str] | None) -> str:
    """Django's JSON change message; ``about`` (name, object) renders as 'for goods in “DN-1”' and the like."""
    named = {"name": about[0], "object": about[1]} if about else {}
    if action == CHANGE:
        body: dict[str, Any] = {"changed": {"fields": list(fields), **named}}
    elif action == ADDITION:
        body = {"added": named}
    else:
        body = {"deleted": named}
    return json.dumps([body], ensure_ascii=False)


def audit_records(
    *,
    by: Any,
    objects: Iterable[tuple[models.Model, Mapping[str, tuple[Any, Any]]]],
    action: int = CHANGE,
    about: tuple[str, str] | None = None,
) -> int:
    """Record one history entry per (object, {field: (old, new)}) with changes; returns how many (one query).

    ``about`` names what the change was part of, e.g. ("goods in", "DN-4711") or ("coupon", "SPRING").
    """
    captured = _captured.get()
    entries = []
    for obj, changes in objects:
        if action == CHANGE and not changes:
            continue
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        entries.append(
            LogEntry(
                content_type=content_type,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                action_flag=action,
                change_message=_message(action, changed_fields(changes), about),
            )
        )
        if captured is not None:
            captured.update((content_type.pk, str(obj.pk), name) for name in changes)
            if action != CHANGE:
                captured.add((content_type.pk, str(obj.pk), "*"))
    if entries:
        actor = _actor_id(by)
        for entry in entries:
            entry.user_id = actor
        LogEntry.objects.bulk_create(entries)
    return len(entries)


def audit_record(
    *,
    by: Any,
    obj: models.Model,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    action: int = CHANGE,
    about: tuple[str, str] | None = None,
) -> None:
    """Record ``obj``'s ``changes`` ({field: (old, new)}) made ``by`` a user (None: the system)."""
    audit_records(by=by, objects=[(obj, changes or {})], action=action, about=about)


@contextmanager
def audit_capture() -> Iterator[set[tuple[int, str, str]]]:
    """Collect what the services record inside the block (used by the admin to avoid logging it twice)."""
    captured: set[tuple[int, str, str]] = set()
    token = _captured.set(captured)
    try:
        yield captured
    finally:
        _captured.reset(token)


class AuditedAdminMixin:
    """For ModelAdmins that save through audited services: the admin logs only what the service did not."""

    def changeform_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with audit_capture() as captured:
            request._audit_captured = captured
            return super().changeform_view(request, *args, **kwargs)  # type: ignore[misc]

    def changelist_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with audit_capture() as captured:
            request._audit_captured = captured
            return super().changelist_view(request, *args, **kwargs)  # type: ignore[misc]

    def _already(self, request: Any, obj: Any) -> set[str]:
        captured: set[tuple[int, str, str]] = getattr(request, "_audit_captured", set())
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        return {name for ct, pk, name in captured if ct == content_type.pk and pk == str(obj.pk)}

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        already = self._already(request, obj)
        if already and isinstance(message, list):
            message = [
                {
                    "changed": {
                        **part["changed"],
                        "fields": [f for f in part["changed"]["fields"] if str(f).lower() not in already],
                    }
                }
                if "changed" in part
                else part
                for part in message
            ]
            message = [part for part in message if "changed" not in part or part["changed"]["fields"]]
            if not message:
                return None
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        if "*" in self._already(request, obj):
            return None
        return super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        # The admin logs deletions before it deletes; a ModelAdmin whose deletions go through an audited
        # service sets ``audited_deletions`` and leaves the record to the service.
        if getattr(self, "audited_deletions", False):
            return []
        return super().log_deletions(request, queryset)  # type: ignore[misc]
