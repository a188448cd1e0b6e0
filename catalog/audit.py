"""The admin history (``django.contrib.admin``'s ``LogEntry``) of writes made outside the admin.

A bulk import writes, set-based, an ADDITION for every book it creates and a
CHANGE for every book whose price or stock it changed, attributed to the
importing user, or to the system account when no one is named.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from bookstore.audit import SYSTEM_EMAIL, system_user
from catalog.models import Book

__all__ = ["ADDED_MESSAGE", "SYSTEM_EMAIL", "book_history_insert_select", "changed_message", "system_user"]

ADDED_MESSAGE = json.dumps([{"added": {}}])


def changed_message(*fields: str) -> str:
    """Django's JSON change message: ``[{"changed": {"fields": ["price", "stock"]}}]``."""
    return json.dumps([{"changed": {"fields": list(fields)}}])


def book_history_insert_select(*, user_id: int, source: str, params: list[Any] | None = None) -> None:
    """Write the history of a bulk write in one ``INSERT ... SELECT`` per action.

    ``source`` is a query of ``(book_id, title, created, price_changed,
    stock_changed)``: a created book gets an ADDITION; an existing one whose
    price or stock changed a CHANGE naming those fields.
    """
    content_type = ContentType.objects.get_for_model(Book).pk
    quote = connection.ops.quote_name
    fields: dict[str, Any] = {name: LogEntry._meta.get_field(name) for name in ("action_time", "user", "content_type")}
    columns = ", ".join(
        quote(name)
        for name in (
            fields["action_time"].column,
            fields["user"].column,
            fields["content_type"].column,
            "object_id",
            "object_repr",
            "action_flag",
            "change_message",
        )
    )
    now = fields["action_time"].get_db_prep_save(timezone.now(), connection)
    message = "CASE WHEN price_changed AND stock_changed THEN %s WHEN price_changed THEN %s ELSE %s END"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(LogEntry._meta.db_table)} ({columns})"  # noqa: S608 (fixed names)
            f" SELECT %s, %s, %s, CAST(book_id AS varchar(20)), substr(title, 1, 200),"
            f" CASE WHEN created THEN {ADDITION} ELSE {CHANGE} END,"
            f" CASE WHEN created THEN %s ELSE {message} END"
            f" FROM ({source}) AS written"
            " WHERE created OR price_changed OR stock_changed ORDER BY book_id",
            [
                now,
                user_id,
                content_type,
                ADDED_MESSAGE,
                changed_message("price", "stock"),
                changed_message("price"),
                changed_message("stock"),
                *(params or []),
            ],
        )
