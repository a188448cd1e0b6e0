"""Catalog writes that carry a business rule."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models, transaction
from django.db.models import Case, F, Value, When

from catalog.exceptions import InsufficientStock
from catalog.models import Book


def _stock_apply(deltas: Mapping[int, int]) -> None:
    """One UPDATE adding ``deltas[book_id]`` to each book's stock."""
    Book.objects.filter(pk__in=list(deltas)).update(
        stock=F("stock")
        + Case(
            *(When(pk=book_id, then=Value(delta)) for book_id, delta in deltas.items()),
            default=Value(0),
            output_field=models.IntegerField(),
        )
    )


def stock_reserve(*, quantities: Mapping[int, int]) -> dict[int, Book]:
    """Take ``quantities`` ({book_id: n}) out of stock, all or nothing.

    Books are locked with ``SELECT ... FOR UPDATE`` in id order, so two orders
    over the same books never deadlock; every line is checked before any is
    decremented, and ``InsufficientStock`` lists every short line. Must run
    inside the caller's transaction (the lock lasts until it commits). Returns
    the locked books by id, their ``stock`` already reduced. Two queries
    whatever the number of lines.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_reserve() must run inside transaction.atomic().")
    ids = sorted(quantities)
    books = {book.pk: book for book in Book.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    short = [
        {
            "book_id": book_id,
            "requested": quantities[book_id],
            "available": books[book_id].stock if book_id in books else 0,
        }
        for book_id in ids
        if book_id not in books or books[book_id].stock < quantities[book_id]
    ]
    if short:
        raise InsufficientStock(details={"items": short})
    # The rows are locked, and the CHECK (stock >= 0) constraint is the last guard.
    _stock_apply({book_id: -quantities[book_id] for book_id in ids})
    for book_id in ids:
        books[book_id].stock -= quantities[book_id]
    return books


def stock_release(*, quantities: Mapping[int, int]) -> None:
    """Put ``quantities`` ({book_id: n}) back in stock, e.g. when an order is cancelled.

    The rows are locked in id order first, as ``stock_reserve`` does: a bare
    UPDATE locks them in whatever order the scan meets them, which can deadlock
    against a reservation of the same books.
    """
    if not quantities:
        return
    with transaction.atomic():
        list(Book.objects.select_for_update().filter(pk__in=sorted(quantities)).order_by("pk").values_list("pk"))
        _stock_apply(dict(quantities))
