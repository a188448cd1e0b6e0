"""The stock ledger: every change of ``Book.stock`` is written as ``StockMovement`` rows.

``stock_movements_record`` is the one writer: one INSERT for any number of
books, inside the caller's transaction, right where the stock changed. So a
book's stock always equals the sum of its movements (``ledger_mismatches``
finds the books where it does not: none, unless something wrote stock
behind the services' back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Book, StockMovement

Kind = StockMovement.Kind


@dataclass(frozen=True)
class StockNote:
    """Why stock moves: the movement's kind, who made it, a reason and a reference (order number, batch...)."""

    kind: str
    by: Any = None
    reason: str = ""
    reference: str = ""


def _user(by: Any) -> Any:
    return by if by is not None and getattr(by, "is_authenticated", False) and by.pk else None


def stock_movements_record(*, note: StockNote, changes: Mapping[int, tuple[int, int]]) -> int:
    """Write one movement per book of ``changes`` ({book_id: (delta, stock_after)}); zero deltas are skipped.

    One INSERT whatever the number of books. Returns the number written.
    """
    now = timezone.now()
    user = _user(note.by)
    rows = [
        StockMovement(
            book_id=book_id,
            kind=note.kind,
            delta=delta,
            stock_after=after,
            by=user,
            at=now,
            reason=note.reason[:255],
            reference=note.reference[:100],
        )
        for book_id, (delta, after) in sorted(changes.items())
        if delta
    ]
    if rows:
        StockMovement.objects.bulk_create(rows)
    return len(rows)


def stock_movements_insert_select(*, note: StockNote, source: str, params: Sequence[Any] = ()) -> None:
    """The set-based form of ``stock_movements_record``: one movement per row of the SQL query ``source``.

    ``source`` selects ``(book_id, delta, stock_after)`` with no zero deltas (a
    bulk writer's staging table); the note's kind, user, reason and reference
    and the time are the same for every movement. One ``INSERT ... SELECT``.
    """
    table = StockMovement._meta.db_table
    fields: dict[str, Any] = {
        name: StockMovement._meta.get_field(name) for name in ("book", "delta", "stock_after", "kind", "by")
    }
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields.values())
    user = _user(note.by)
    at_field = StockMovement._meta.get_field("at")
    assert isinstance(at_field, models.DateTimeField)
    at = at_field.get_db_prep_save(timezone.now(), connection)

    def typed(placeholder: str, field: Any) -> str:
        # PostgreSQL cannot tell the type of a NULL parameter in a SELECT list.
        return f"CAST({placeholder} AS {field.db_type(connection)})"

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({columns}, {quote('at')}, {quote('reason')}, {quote('reference')})"  # noqa: S608
            f" SELECT moved.*, %s, {typed('%s', fields['by'])}, %s, %s, %s FROM ({source}) AS moved",
            [note.kind, user.pk if user else None, at, note.reason[:255], note.reference[:100], *params],
        )


def ledger_mismatches(*, books: QuerySet[Book] | None = None) -> list[tuple[int, int, int]]:
    """(book id, stock, sum of movements) of every book whose stock differs from its ledger."""
    total = (
        StockMovement.objects.filter(book=OuterRef("pk"))
        .order_by()
        .values("book")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    queryset = Book.objects.all() if books is None else books
    return [
        (row["pk"], row["stock"], row["ledger"])
        for row in queryset.annotate(ledger=Coalesce(Subquery(total, output_field=IntegerField()), Value(0)))
        .exclude(stock=F("ledger"))
        .values("pk", "stock", "ledger")
        .order_by("pk")
    ]
