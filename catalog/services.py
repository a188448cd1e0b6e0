"""Catalog writes that carry a business rule.

Every write that changes indexed text (a book's title, subtitle, description
or publisher, its contributor credits, an author's name) refreshes the search
index in the same transaction, so the index is never behind the committed
catalog.

Stock: ``stock_reserve`` takes copies (or, for a forthcoming book, preorders
out of its allowance) under row locks; every write that can raise a book's
stock ends with one call to ``stock_rose``, which schedules the back-in-stock
emails of that book's waiting subscribers after the commit.
"""

from __future__ import annotations

import datetime
import enum
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from celery import current_app
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Case, F, ProtectedError, QuerySet, Value, When
from django.utils import timezone
from django.utils.text import slugify

from bookstore.audit import audit_record, audit_records
from bookstore.limits import MAX_PRICE, money
from bookstore.prepared import prepared_cursor
from catalog import isbn as isbn_rules
from catalog import readcache
from catalog.choices import ContributorRole, PublicationStatus
from catalog.exceptions import (
    AuthorHasBooks,
    BookAuthorsInvalid,
    BookInStock,
    BookNotOrderable,
    BookReleaseInvalid,
    BookSeriesInvalid,
    GenreHasBooks,
    GenreSlugTaken,
    InsufficientStock,
    IsbnInvalid,
    IsbnTaken,
    PriceChangeInvalid,
    SeriesHasBooks,
    SeriesNameTaken,
)
from catalog.fields import BOOK_COLUMN_FIELDS, INDEXED_FIELDS, book_values
from catalog.importing import BookRow
from catalog.ledger import StockNote, stock_movements_record
from catalog.models import Author, Book, BookAuthor, Genre, Series, StockMovement, StockSubscription, Work
from catalog.search import search_index_set_active, search_index_update
from notifications.services import email_queue

logger = logging.getLogger(__name__)

BACK_IN_STOCK_TASK = "catalog.back_in_stock_notify"

#: Book fields whose text is in the search index (with the contributor names).
INDEXED_BOOK_FIELDS = INDEXED_FIELDS


def _stock_apply(deltas: Mapping[int, int]) -> None:
    """One UPDATE adding ``deltas[book_id]`` to each book's stock (their cached documents follow the commit)."""
    readcache.books_changed(book_ids=deltas)
    Book.objects.filter(pk__in=list(deltas)).update(
        stock=F("stock")
        + Case(
            *(When(pk=book_id, then=Value(delta)) for book_id, delta in deltas.items()),
            default=Value(0),
            output_field=models.IntegerField(),
        )
    )


def stock_reserve(
    *, quantities: Mapping[int, int], fields: Sequence[str] = (), sale: StockNote | None = None
) -> dict[int, Book]:
    """Take ``quantities`` ({book_id: n}) out of stock, all or nothing.

    Books are locked in id order, so two orders over the same books never
    deadlock; a line is taken only if its book has enough (checked on the
    locked, newest row), and ``InsufficientStock`` lists every short line. A
    forthcoming book is a preorder: its quantity comes out of
    ``preorder_allowance`` instead of ``stock``, under the same lock (its
    ``available`` in the error is the allowance left). An out-of-print book
    raises ``BookNotOrderable``. Must run inside the caller's transaction (the
    lock lasts until it commits; on an error the caller rolls it back).
    Returns the locked books by id, their ``stock`` / ``preorder_allowance``
    already reduced; the caller tells a preorder by ``publication_status ==
    "forthcoming"``. ``fields``: only these columns (and those the rules above
    need) are read under the lock.

    The stock's movements: with ``sale`` (the note of the sale, whose
    reference is known already) they are written here, one ``sale`` movement
    per book whose stock was taken (a preorder takes no stock, so it is no
    movement); without it the caller records them
    (``catalog.ledger.stock_movements_record``, ``stock_after`` from the
    returned books) in the same transaction, once it knows what the stock was
    taken for. The ledger invariant tests hold either to that.

    On PostgreSQL all of it is one statement (lock in id order, conditional
    ``UPDATE ... RETURNING``, the movements' ``INSERT``); elsewhere
    ``SELECT ... FOR UPDATE``, ``UPDATE`` and the movements' ``INSERT``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_reserve() must run inside transaction.atomic().")
    if transaction.get_connection().vendor == "postgresql":
        books = _stock_take_in_one_statement(quantities=quantities, fields=fields, sale=sale)
    else:
        books = _stock_take_locked_read(quantities=quantities, fields=fields)
        if sale is not None:
            _sale_movements_record(sale, quantities, books)
    return books


def _sale_movements_record(sale: StockNote, quantities: Mapping[int, int], books: Mapping[int, Book]) -> None:
    stock_movements_record(
        note=sale,
        changes={
            book_id: (-quantity, books[book_id].stock)
            for book_id, quantity in quantities.items()
            if books[book_id].publication_status != PublicationStatus.FORTHCOMING
        },
    )


def _stock_refusal(ids: Sequence[int], quantities: Mapping[int, int], books: Mapping[int, Book]) -> None:
    """Raise what is wrong with taking ``quantities`` from ``books`` (the locked rows, read as they are)."""
    out_of_print = [book_id for book_id in ids if book_id in books and not book_orderable(books[book_id])]
    if out_of_print:
        raise BookNotOrderable(details={"book_id": [f"Book {book_id} is out of print." for book_id in out_of_print]})
    short = [
        {"book_id": book_id, "requested": quantities[book_id], "available": book_available(books.get(book_id))}
        for book_id in ids
        if book_id not in books or book_available(books[book_id]) < quantities[book_id]
    ]
    if short:
        raise InsufficientStock(details={"items": short})


def _stock_take_locked_read(*, quantities: Mapping[int, int], fields: Sequence[str]) -> dict[int, Book]:
    """``SELECT ... FOR UPDATE`` in id order, check every line, then one ``UPDATE`` per column that changes."""
    ids = sorted(quantities)
    locked = Book.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    if fields:
        locked = locked.only("pk", "stock", "preorder_allowance", "publication_status", *fields)
    books = {book.pk: book for book in locked}
    _stock_refusal(ids, quantities, books)
    preorders = {book_id for book_id in ids if books[book_id].publication_status == PublicationStatus.FORTHCOMING}
    # The rows are locked, and the CHECK (stock >= 0, preorder_allowance >= 0) constraints are the last guard.
    _stock_apply({book_id: -quantities[book_id] for book_id in ids if book_id not in preorders})
    _allowance_apply({book_id: -quantities[book_id] for book_id in preorders})
    for book_id in ids:
        if book_id in preorders:
            books[book_id].preorder_allowance -= quantities[book_id]
        else:
            books[book_id].stock -= quantities[book_id]
    return books


def _stock_take_in_one_statement(
    *, quantities: Mapping[int, int], fields: Sequence[str], sale: StockNote | None
) -> dict[int, Book]:
    """PostgreSQL: lock, check, take and (with ``sale``) write the movements in one statement.

    ``locked`` takes the row locks in id order (``FOR NO KEY UPDATE``, as an
    ``UPDATE`` of non-key columns does); the ``UPDATE`` scans only the ids it
    returns, aggregated into one array (an init plan), so every lock is held
    before the first row is changed. The ``UPDATE`` then only takes a line
    whose book has enough; under READ COMMITTED it re-checks that condition on
    the newest row version, so a concurrent sale committed meanwhile is
    counted (no oversell; the CHECK constraints stay the last guard). A line
    missing from the result is refused once its locked row, read again, says
    why (the caller rolls the transaction back); if the row no longer says so,
    a restock came between the statement's snapshot and its lock, and the line
    is taken again.
    """
    ids = sorted(quantities)
    connection = transaction.get_connection()
    wanted_names = {
        "id",
        "stock",
        "preorder_allowance",
        "publication_status",
        *("id" if f == "pk" else f for f in fields),
    }
    # In the model's field order, as ``Model.from_db`` takes them.
    chosen = [field for field in Book._meta.concrete_fields if field.name in wanted_names]
    columns = [field.column for field in chosen]
    book_columns = {field.name: field.column for field in Book._meta.concrete_fields}
    quote = connection.ops.quote_name
    table = quote(Book._meta.db_table)
    forthcoming = "b.{status} = %s".format(status=quote(book_columns["publication_status"]))
    sql = [
        f"WITH wanted (id, quantity) AS (SELECT * FROM unnest(%s::bigint[], %s::integer[])),"  # noqa: S608
        f" locked AS MATERIALIZED (SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id"
        " FOR NO KEY UPDATE),"
        f" taken AS (UPDATE {table} AS b SET"
        f" stock = CASE WHEN {forthcoming} THEN b.stock ELSE b.stock - wanted.quantity END,"
        " preorder_allowance = CASE WHEN"
        f" {forthcoming} THEN b.preorder_allowance - wanted.quantity ELSE b.preorder_allowance END"
        " FROM wanted WHERE b.id = wanted.id AND b.id = ANY(ARRAY(SELECT id FROM locked))"
        " AND b.publication_status <> %s"
        f" AND CASE WHEN {forthcoming} THEN b.preorder_allowance ELSE b.stock END >= wanted.quantity"
        f" RETURNING {', '.join('b.' + quote(column) for column in columns)}, wanted.quantity)",
    ]
    params: list[Any] = [
        ids,
        [quantities[book_id] for book_id in ids],
        ids,
        PublicationStatus.FORTHCOMING,
        PublicationStatus.FORTHCOMING,
        PublicationStatus.OUT_OF_PRINT,
        PublicationStatus.FORTHCOMING,
    ]
    if sale is not None:
        movement = {field.name: field for field in StockMovement._meta.concrete_fields}
        by, at = movement["by"], movement["at"]
        assert isinstance(at, models.DateTimeField)
        target = ", ".join(
            quote(movement[name].column)
            for name in ("book", "kind", "delta", "stock_after", "by", "at", "reason", "reference")
        )
        sql.append(
            f", moved AS (INSERT INTO {quote(StockMovement._meta.db_table)} ({target})"  # noqa: S608 (names from the models)
            f" SELECT id, %s, -quantity, stock, CAST(%s AS {by.db_type(connection)}), %s, %s, %s"
            " FROM taken WHERE publication_status <> %s)"
        )
        by_user = sale.by if getattr(sale.by, "is_authenticated", False) and sale.by.pk else None
        params += [
            sale.kind,
            by_user.pk if by_user is not None else None,
            at.get_db_prep_save(timezone.now(), connection),
            sale.reason[:255],
            sale.reference[:100],
            PublicationStatus.FORTHCOMING,
        ]
    sql.append(f" SELECT {', '.join(quote(column) for column in columns)} FROM taken")  # noqa: S608
    readcache.books_changed(book_ids=ids)
    db = connection.alias
    attnames = [field.attname for field in chosen]
    books: dict[int, Book] = {}
    pending = ids
    while True:
        with prepared_cursor(connection.alias) as cursor:
            cursor.execute("".join(sql), [pending, [quantities[book_id] for book_id in pending], pending, *params[3:]])
            rows = cursor.fetchall()
        books.update((book.pk, book) for book in (Book.from_db(db, attnames, row) for row in rows))
        refused = [book_id for book_id in pending if book_id not in books]
        if not refused:
            return books
        # The refused lines' rows are locked (those that exist) and untouched by the statement: read them now.
        current = {
            book.pk: book
            for book in Book.objects.using(db)
            .filter(pk__in=refused)
            .only("pk", "stock", "preorder_allowance", "publication_status")
        }
        _stock_refusal(refused, quantities, current)
        # Nothing wrong with them now: the statement's snapshot predates a restock committed before the lock.
        # The taken lines stay taken (with their movements); the others are taken again on the newest rows.
        pending = refused


def book_orderable(book: Book) -> bool:
    """Whether ``book`` may be put on an order at all (an out-of-print book may not)."""
    return bool(book.publication_status != PublicationStatus.OUT_OF_PRINT)


def book_available(book: Book | None) -> int:
    """What an order may take of ``book`` now: its stock, or for a forthcoming book its preorder allowance."""
    if book is None:
        return 0
    if book.publication_status == PublicationStatus.FORTHCOMING:
        return int(book.preorder_allowance)
    return int(book.stock)


def _allowance_apply(deltas: Mapping[int, int]) -> None:
    """One UPDATE adding ``deltas[book_id]`` to each book's preorder allowance."""
    if not deltas:
        return
    readcache.books_changed(book_ids=deltas)
    Book.objects.filter(pk__in=list(deltas)).update(
        preorder_allowance=F("preorder_allowance")
        + Case(
            *(When(pk=book_id, then=Value(delta)) for book_id, delta in deltas.items()),
            default=Value(0),
            output_field=models.IntegerField(),
        )
    )


def stock_release(*, quantities: Mapping[int, int], note: StockNote, preorders: Iterable[int] = ()) -> None:
    """Put ``quantities`` ({book_id: n}) back, e.g. when an order is cancelled; ``note`` says why.

    ``preorders``: the book ids whose lines were preorders. A preorder goes
    back to the allowance while its book is still forthcoming; once the book
    is released the copy was set aside from the delivery, so it returns to
    stock like any other line. The rows are locked in id order first, as
    ``stock_reserve`` does: a bare UPDATE locks them in whatever order the scan
    meets them, which can deadlock against a reservation of the same books.
    What returns to stock goes to the ledger (``note``); what returns to the
    allowance is no stock movement.
    """
    if not quantities:
        return
    preordered = set(preorders)
    with transaction.atomic():
        locked = {
            pk: (status, stock)
            for pk, status, stock in Book.objects.select_for_update()
            .filter(pk__in=sorted(quantities))
            .order_by("pk")
            .values_list("pk", "publication_status", "stock")
        }
        forthcoming = {pk for pk, (status, _stock) in locked.items() if status == PublicationStatus.FORTHCOMING}
        to_allowance = {pk: n for pk, n in quantities.items() if pk in preordered and pk in forthcoming}
        to_stock = {pk: n for pk, n in quantities.items() if pk not in to_allowance and pk in locked}
        _allowance_apply(to_allowance)
        if to_stock:
            _stock_apply(to_stock)
            stock_movements_record(note=note, changes={pk: (n, locked[pk][1] + n) for pk, n in to_stock.items()})
            stock_rose(book_ids=to_stock)


def _stock_locked(book_ids: Iterable[int]) -> dict[int, int]:
    """Lock the books in id order (as ``stock_reserve`` does) and read their stock."""
    return dict(
        Book.objects.select_for_update().filter(pk__in=sorted(book_ids)).order_by("pk").values_list("pk", "stock")
    )


def _stock_audit(*, by: Any, changes: Mapping[int, tuple[int, int]], about: tuple[str, str]) -> None:
    """Each book's stock change (before, after) in its admin history, in one query (plus the books' names)."""
    if not changes:
        return
    books = Book.objects.filter(pk__in=changes).only("pk", "title", "isbn").order_by("pk")
    audit_records(by=by, objects=((book, {"stock": changes[book.pk]}) for book in books), about=about)


def stock_receive(*, counts: Mapping[int, int], by: Any, reference: str = "", reason: str = "") -> dict[int, int]:
    """Goods in: add ``counts`` ({book_id: copies > 0}) to stock in one transaction; returns the new stock by id.

    Unknown book ids are ignored (the caller lists what it could not match).
    Each book's addition is a ``goods_in`` movement of the ledger; waiting subscribers hear it is back.
    """
    if any(count <= 0 for count in counts.values()):
        raise ValueError("Goods in adds at least one copy per book.")
    with transaction.atomic():
        stock = _stock_locked(counts)
        added = {pk: counts[pk] for pk in stock}
        if added:
            _stock_apply(added)
        after = {pk: stock[pk] + added[pk] for pk in stock}
        stock_movements_record(
            note=StockNote(kind=StockMovement.Kind.GOODS_IN, by=by, reference=reference, reason=reason),
            changes={pk: (added[pk], after[pk]) for pk in stock},
        )
        _stock_audit(by=by, changes={pk: (stock[pk], after[pk]) for pk in stock}, about=("goods in", reference))
        stock_rose(book_ids=added)
    return after


def stock_take(
    *, counts: Mapping[int, int], by: Any, reference: str = "", reason: str = ""
) -> dict[int, tuple[int, int]]:
    """Stock-take: set each counted book's stock to ``counts`` ({book_id: copies >= 0}) in one transaction.

    Books not counted keep their stock. A difference is a ``stocktake``
    movement; a count above the stock notifies waiting subscribers. Returns
    {book_id: (stock before, counted)} for every counted book.
    """
    if any(count < 0 for count in counts.values()):
        raise ValueError("A count cannot be negative.")
    with transaction.atomic():
        stock = _stock_locked(counts)
        deltas = {pk: counts[pk] - stock[pk] for pk in stock if counts[pk] != stock[pk]}
        if deltas:
            _stock_apply(deltas)
        stock_movements_record(
            note=StockNote(kind=StockMovement.Kind.STOCKTAKE, by=by, reference=reference, reason=reason),
            changes={pk: (delta, counts[pk]) for pk, delta in deltas.items()},
        )
        _stock_audit(by=by, changes={pk: (stock[pk], counts[pk]) for pk in deltas}, about=("stock-take", reference))
        stock_rose(book_ids=[pk for pk, delta in deltas.items() if delta > 0])
    return {pk: (stock[pk], counts[pk]) for pk in stock}


def stock_rose(*, book_ids: Iterable[int]) -> None:
    """What follows any write that may have raised the stock of ``book_ids``, inside the writer's transaction.

    Books now in stock with subscribers still waiting get their back-in-stock
    emails from a task started after the commit (one query here). A
    subscription is only taken while its book is out of stock, under the
    book's row lock, so a waiting subscription on a book in stock means the
    book came back since.
    """
    ids = list(book_ids)
    if not ids:
        return
    waiting = list(
        StockSubscription.objects.filter(book_id__in=ids, book__stock__gt=0, notified_at__isnull=True)
        .order_by()
        .values_list("book_id", flat=True)
        .distinct()
    )
    if waiting:
        transaction.on_commit(lambda: _back_in_stock_dispatch(sorted(waiting)), robust=True)


def _back_in_stock_dispatch(book_ids: list[int]) -> None:
    """Send the fan-out task; if the broker is down, the periodic sweep sends the emails later."""
    try:
        current_app.send_task(BACK_IN_STOCK_TASK, kwargs={"book_ids": book_ids})
    except Exception:  # a broker outage must not fail the write that restocked
        logger.warning("back-in-stock task for books %s not sent; the sweep will send it", book_ids, exc_info=True)


def stock_subscribe(*, book: Book, user: Any) -> StockSubscription:
    """Subscribe ``user`` to one email when ``book`` is back in stock; ``BookInStock`` (409) if it is in stock.

    The book row is locked while its stock is read, so a restock committing
    meanwhile either sees this subscription or makes this call refuse. Subscribing
    twice while waiting keeps the first subscription.
    """
    with transaction.atomic():
        locked = Book.objects.select_for_update().only("pk", "stock").get(pk=book.pk)
        if locked.stock > 0:
            raise BookInStock()
        subscription, _ = StockSubscription.objects.get_or_create(book=locked, user=user, notified_at=None)
        return subscription


def stock_unsubscribe(*, book: Book, user: Any) -> int:
    """Drop ``user``'s waiting subscription to ``book`` (none is fine); returns how many were dropped."""
    with transaction.atomic():
        deleted, _ = StockSubscription.objects.filter(book=book, user=user, notified_at__isnull=True).delete()
    return int(deleted)


def back_in_stock_notify(*, book_ids: Iterable[int] | None = None) -> int:
    """Email every waiting subscriber of the given books (all books if ``None``) that are in stock now.

    Each subscription is claimed with a conditional UPDATE (``notified_at``
    from NULL to now) and its email queued in the same transaction with the
    key ``back-in-stock:<subscription id>``, so running this twice, or two
    workers at once, sends one email per subscription. A subscription is
    notified once: a rise, a fall and a rise again (within the hour or later)
    sends nothing new to it. Returns the number of emails queued.
    """
    waiting = StockSubscription.objects.filter(notified_at__isnull=True, book__stock__gt=0)
    if book_ids is not None:
        waiting = waiting.filter(book_id__in=list(book_ids))
    sent = 0
    for subscription in waiting.select_related("book", "user").order_by("pk")[:BACK_IN_STOCK_BATCH]:
        with transaction.atomic():
            now = timezone.now()
            if not StockSubscription.objects.filter(pk=subscription.pk, notified_at__isnull=True).update(
                notified_at=now
            ):
                continue  # another worker took it
            if subscription.user.email and subscription.user.is_active:
                email_queue(
                    to=subscription.user.email,
                    template="catalog/email/back_in_stock",
                    context={"book": subscription.book, "user": subscription.user},
                    key=f"back-in-stock:{subscription.pk}",
                )
                sent += 1
    return sent


#: Most subscriptions one run of ``back_in_stock_notify`` handles; the sweep takes the rest.
BACK_IN_STOCK_BATCH = 5000


# --- Authors ----------------------------------------------------------------------


def author_create(*, name: str, bio: str = "") -> Author:
    """Create an author."""
    with transaction.atomic():
        return Author.objects.create(name=name, bio=bio)


def author_update(*, author: Author, name: str | None = None, bio: str | None = None) -> Author:
    """Change an author; a new name is re-indexed on every book that credits the author."""
    changed: list[str] = []
    if name is not None and name != author.name:
        author.name = name
        changed.append("name")
    if bio is not None and bio != author.bio:
        author.bio = bio
        changed.append("bio")
    if not changed:
        return author
    with transaction.atomic():
        author.save(update_fields=[*changed, "updated_at"])
        readcache.catalog_changed()
        if "name" in changed:
            search_index_update(book_ids=BookAuthor.objects.filter(author=author).values_list("book_id", flat=True))
    return author


def author_delete(*, author: Author) -> None:
    """Delete an author who is credited on no book; otherwise raise ``AuthorHasBooks``."""
    try:
        with transaction.atomic():
            author.delete()
            readcache.catalog_changed()
    except ProtectedError as exc:
        raise AuthorHasBooks(details={"book_count": len(exc.protected_objects)}) from exc


# --- Genres -----------------------------------------------------------------------

_SLUG_ATTEMPTS = 3


def _slug_from_name(name: str) -> str:
    """The first free slug made from ``name``: ``science-fiction``, then ``science-fiction-2``, ..."""
    base = slugify(name)[:90].strip("-") or "genre"
    taken = set(Genre.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def _genre_save(genre: Genre, *, derive_slug: bool, update_fields: list[str] | None = None) -> Genre:
    """Save ``genre``; a derived slug is derived again if another genre took it meanwhile."""
    for _attempt in range(_SLUG_ATTEMPTS):
        if derive_slug:
            genre.slug = _slug_from_name(genre.name)
        elif Genre.objects.filter(slug=genre.slug).exclude(pk=genre.pk).exists():
            raise GenreSlugTaken()
        try:
            with transaction.atomic():
                genre.save(update_fields=update_fields)
        except IntegrityError:
            if not Genre.objects.filter(slug=genre.slug).exclude(pk=genre.pk).exists():
                raise  # not the slug: a programming error, not the user's
            if not derive_slug:
                raise GenreSlugTaken() from None
        else:
            return genre
    raise GenreSlugTaken()


def genre_create(*, name: str, slug: str = "") -> Genre:
    """Create a genre; without ``slug`` one is derived from the name and made unique."""
    with transaction.atomic():
        return _genre_save(Genre(name=name, slug=slug), derive_slug=not slug)


def genre_update(*, genre: Genre, name: str | None = None, slug: str | None = None) -> Genre:
    """Rename a genre or change its slug; the slug stays as it is unless given. A new name is re-indexed on its books."""
    renamed = name is not None and name != genre.name
    if name is not None:
        genre.name = name
    if slug is not None:
        genre.slug = slug
    with transaction.atomic():
        _genre_save(genre, derive_slug=False, update_fields=["name", "slug", "updated_at"])
        if renamed:  # genre names are searched with their books
            books = Book.genres.through.objects.filter(genre_id=genre.pk).values_list("book_id", flat=True)
            books_written(book_ids=books, reindex=True)
        return genre


def genre_delete(*, genre: Genre) -> None:
    """Delete a genre that no book is in; otherwise raise ``GenreHasBooks`` and change nothing.

    The genre row is locked first: a book being put in the genre meanwhile
    (its link row references the genre) waits for the delete, then fails on
    the missing genre, instead of silently losing it.
    """
    with transaction.atomic():
        list(Genre.objects.select_for_update().filter(pk=genre.pk).values_list("pk", flat=True))
        book_count = Book.genres.through.objects.filter(genre_id=genre.pk).count()
        if book_count:
            raise GenreHasBooks(details={"book_count": book_count})
        genre.delete()
        readcache.catalog_changed()


# --- Books ------------------------------------------------------------------------


class BookDeletion(enum.Enum):
    """What ``book_delete`` did."""

    DELETED = "deleted"
    DEACTIVATED = "deactivated"


def books_written(*, book_ids: Iterable[int], reindex: bool) -> None:
    """What follows every write of books, whichever path wrote them (a service here or the bulk upsert).

    Runs inside the writer's transaction. ``reindex``: indexed text or author
    credits changed, so the search entries are refreshed. The one place for the
    next consequences of a book write (cache invalidation, stock movements).
    """
    readcache.catalog_changed()
    if reindex:
        search_index_update(book_ids=book_ids)


class Credit(NamedTuple):
    """One contributor credit to write: a person and their role (``ContributorRole``)."""

    author: Author
    role: str = ContributorRole.AUTHOR


def book_rows_check(*, rows: Sequence[BookRow]) -> None:
    """The rules a batch of ``BookRow`` must meet before the bulk upsert writes it.

    The single-book services hold the same rules: the ISBN in its 13-digit
    form, at least one contributor credited once per role, and one book per
    ISBN. Rows read by ``catalog.importing`` already meet them; this guards
    every other producer of rows (the demo store, the ONIX reader).
    """
    seen: set[str] = set()
    for row in rows:
        if len(row.isbn) != 13 or not row.isbn.isdigit():  # the check digit is the reader's to check
            raise IsbnInvalid(f"{row.isbn!r} is not an ISBN in its 13-digit form.")
        if row.isbn in seen:
            raise IsbnTaken(f"ISBN {row.isbn} appears twice in one batch.")
        seen.add(row.isbn)
        credits = row_credits(row)
        _credits_check(credits)
        _roles_check([role for _name, role in credits])


def row_credits(row: BookRow) -> tuple[tuple[str, str], ...]:
    """A row's credits as (name, role) in cover order: its ``contributors`` if given, else its ``authors``."""
    if row.contributors:
        return tuple((name, role) for name, role in row.contributors)
    return tuple((name, ContributorRole.AUTHOR.value) for name in row.authors)


def _credits_check(keys: Sequence[object]) -> None:
    if not keys:
        raise BookAuthorsInvalid()
    if len(set(keys)) != len(keys):
        raise BookAuthorsInvalid("Each contributor may be credited only once per role.")


_ROLES = frozenset(ContributorRole.values)


def _roles_check(roles: Iterable[str]) -> None:
    unknown = sorted(set(roles) - _ROLES)
    if unknown:
        raise BookAuthorsInvalid(f"Unknown role(s): {', '.join(unknown)}.")


def _isbn13(raw: str) -> str:
    try:
        return isbn_rules.to_isbn13(raw)
    except isbn_rules.InvalidIsbn as exc:
        raise IsbnInvalid(str(exc)) from exc


def _book_rules_check(book: Book) -> None:
    """Rules across fields: a series number needs a series; a forthcoming book needs a release date."""
    if book.series_number is not None and book.series_id is None:
        raise BookSeriesInvalid()
    if book.publication_status == PublicationStatus.FORTHCOMING and book.release_date is None:
        raise BookReleaseInvalid()


def _book_save(book: Book, *, update_fields: list[str] | None = None) -> None:
    """Save ``book``; a duplicate ISBN, checked first or lost in a race, raises ``IsbnTaken``.

    A new book without a work gets a work of its own (an edition is always part of one).
    """
    _book_rules_check(book)
    if book.work_id is None:
        book.work = Work.objects.create(title=book.title)
        if update_fields is not None:
            update_fields = [*update_fields, "work"]
    if update_fields is not None and "isbn" not in update_fields:
        book.save(update_fields=update_fields)
        return
    if Book.objects.filter(isbn=book.isbn).exclude(pk=book.pk).exists():
        raise IsbnTaken()
    try:
        with transaction.atomic():
            book.save(update_fields=update_fields)
    except IntegrityError:
        if Book.objects.filter(isbn=book.isbn).exclude(pk=book.pk).exists():
            raise IsbnTaken() from None
        raise


def _credits(authors: Sequence[Author] | None, contributors: Sequence[Credit] | None) -> list[Credit] | None:
    """The credits to write: ``contributors`` in order, or ``authors`` as role ``author``; ``None``: unchanged."""
    if contributors is not None and authors is not None:
        raise BookAuthorsInvalid("Give either the authors or the contributors, not both.")
    if contributors is not None:
        return [Credit(author, str(role)) for author, role in contributors]
    if authors is not None:
        return [Credit(author) for author in authors]
    return None


def _book_set_credits(book: Book, credits: Sequence[Credit]) -> None:
    """Credit ``credits`` on ``book`` in this order (positions 0, 1, ...)."""
    _credits_check([(credit.author.pk, credit.role) for credit in credits])
    _roles_check(credit.role for credit in credits)
    BookAuthor.objects.filter(book=book).delete()
    BookAuthor.objects.bulk_create(
        [
            BookAuthor(book=book, author=credit.author, role=credit.role, position=position)
            for position, credit in enumerate(credits)
        ]
    )


def book_create(
    *,
    authors: Sequence[Author] | None = None,
    contributors: Sequence[Credit] | None = None,
    genres: Iterable[Genre] = (),
    series: Series | None = None,
    work: Work | None = None,
    by: Any = None,
    **fields: Any,
) -> Book:
    """Create a book crediting ``contributors`` (or ``authors``, role author) in order, at least one; index it.

    ``fields`` are the book's columns of ``catalog.fields`` (``isbn``, ``title``
    and ``price`` required, the others default as declared). ``isbn`` may be
    any accepted ISBN-10/13 spelling; it is stored as ISBN-13 and must be
    unique (``IsbnInvalid`` / ``IsbnTaken`` otherwise). Without ``work`` the
    book gets a work of its own. Its first stock is the opening movement of
    its ledger, made ``by`` the given user.
    """
    credits = _credits(authors, contributors)
    values = book_values(given=fields, names=BOOK_COLUMN_FIELDS)
    values["isbn"] = _isbn13(values["isbn"])
    book = Book(**values, series=series, work=work)
    with transaction.atomic():
        _book_save(book)
        _book_set_credits(book, credits or [])
        book.genres.set(list(genres))
        stock_movements_record(
            note=StockNote(kind=StockMovement.Kind.OPENING, by=by, reason="New book"),
            changes={book.pk: (book.stock, book.stock)},
        )
        books_written(book_ids=[book.pk], reindex=True)
        if book.stock > 0:
            stock_rose(book_ids=[book.pk])
    return book


_UNSET: Any = object()


def book_update(
    *,
    book: Book,
    authors: Sequence[Author] | None = None,
    contributors: Sequence[Credit] | None = None,
    genres: Iterable[Genre] | None = None,
    series: Series | None = _UNSET,
    work: Work | None = None,
    by: Any = None,
    **changes: Any,
) -> Book:
    """Change a book's fields (any columns of ``catalog.fields``), and replace its credits or genres when given.

    ``series`` (``None`` takes the book out of its series) and ``work`` (put
    the book in that work; see ``book_join_work``) change only when given.
    Only the given fields are written, so a concurrent stock change by an
    order is never overwritten. The book is re-indexed when indexed text or
    its credits change; a stock raised above zero notifies the subscribers.
    A new stock is a movement ``by`` the given user (kind ``adjustment``),
    against the stock read under a row lock.
    """
    credits = _credits(authors, contributors)
    changes = book_values(given=changes, names=tuple(name for name in BOOK_COLUMN_FIELDS if name in changes))
    if "isbn" in changes:
        changes["isbn"] = _isbn13(changes["isbn"])
    changed: list[str] = []
    was_out_of_stock = book.stock <= 0
    old_price = book.price
    for name, value in changes.items():
        if getattr(book, name) != value:
            setattr(book, name, value)
            changed.append(name)
    if series is not _UNSET and book.series_id != (series.pk if series else None):
        book.series = series
        changed.append("series")
    old_work_id = book.work_id
    if work is not None and work.pk != book.work_id:
        book.work = work
        changed.append("work")
    with transaction.atomic():
        audited: dict[str, tuple[Any, Any]] = {}
        if "price" in changed:
            audited["price"] = (old_price, book.price)
        if "stock" in changed:
            before = Book.objects.select_for_update().filter(pk=book.pk).values_list("stock", flat=True).get()
            stock_movements_record(
                note=StockNote(kind=StockMovement.Kind.ADJUSTMENT, by=by),
                changes={book.pk: (book.stock - before, book.stock)},
            )
            audited["stock"] = (before, book.stock)
        audit_record(by=by, obj=book, changes=audited)
        if changed:
            _book_save(book, update_fields=[*changed, "updated_at"])
        if "work" in changed and old_work_id is not None:
            _work_drop_if_empty(old_work_id)
        if credits is not None:
            _book_set_credits(book, credits)
        if genres is not None:
            book.genres.set(list(genres))
        if changed or credits is not None or genres is not None:
            # Credits, genres and the series are searched with the book's own text.
            reindex = credits is not None or genres is not None or "series" in changed or "is_active" in changed
            books_written(book_ids=[book.pk], reindex=reindex or bool(INDEXED_BOOK_FIELDS.intersection(changed)))
        if "stock" in changed and was_out_of_stock and book.stock > 0:
            stock_rose(book_ids=[book.pk])
    return book


def _work_drop_if_empty(work_id: int) -> None:
    """Delete the work ``work_id`` once no edition is left in it."""
    Work.objects.filter(pk=work_id).exclude(pk__in=Book.objects.filter(work_id=work_id).values("work_id")).delete()


def book_join_work(*, book: Book, same_as: Book) -> Book:
    """Group ``book`` with ``same_as`` as editions of one work (``book`` moves into ``same_as``'s work)."""
    return book_update(book=book, work=same_as.work)


def book_leave_work(*, book: Book) -> Book:
    """Take ``book`` out of its group of editions: it gets a work of its own."""
    with transaction.atomic():
        if Book.objects.filter(work_id=book.work_id).exclude(pk=book.pk).exists():
            return book_update(book=book, work=Work.objects.create(title=book.title))
    return book


def book_release_due(*, today: datetime.date | None = None) -> int:
    """Make every forthcoming book whose release date has come active; returns how many.

    The preorders already taken stay on their orders; the allowance left
    lapses (it is set to 0), and from then on orders take from ``stock``,
    which staff fill with the copies on hand beyond the preorders. Safe to run
    twice: a book already active is left alone.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        due = list(
            Book.objects.select_for_update()
            .filter(publication_status=PublicationStatus.FORTHCOMING, release_date__lte=today)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        Book.objects.filter(pk__in=due).update(
            publication_status=PublicationStatus.ACTIVE, preorder_allowance=0, updated_at=timezone.now()
        )
        books_written(book_ids=due, reindex=False)
        stock_rose(book_ids=due)
    return len(due)


# --- Series -------------------------------------------------------------------------


def _series_save(series: Series, *, update_fields: list[str] | None = None) -> Series:
    if Series.objects.filter(name=series.name).exclude(pk=series.pk).exists():
        raise SeriesNameTaken()
    try:
        with transaction.atomic():
            series.save(update_fields=update_fields)
    except IntegrityError:
        if Series.objects.filter(name=series.name).exclude(pk=series.pk).exists():
            raise SeriesNameTaken() from None
        raise
    return series


def series_create(*, name: str) -> Series:
    """Create a series; names are unique (``SeriesNameTaken``)."""
    with transaction.atomic():
        return _series_save(Series(name=name))


def series_update(*, series: Series, name: str | None = None) -> Series:
    """Rename a series; its books are re-indexed (the series name is searched with them)."""
    if name is None or name == series.name:
        return series
    series.name = name
    with transaction.atomic():
        _series_save(series, update_fields=["name", "updated_at"])
        books_written(book_ids=Book.objects.filter(series=series).values_list("pk", flat=True), reindex=True)
    return series


def series_delete(*, series: Series) -> None:
    """Delete a series no book is in; otherwise raise ``SeriesHasBooks``."""
    try:
        with transaction.atomic():
            series.delete()
            readcache.catalog_changed()
    except ProtectedError as exc:
        raise SeriesHasBooks(details={"book_count": len(exc.protected_objects)}) from exc


def book_delete(*, book: Book) -> BookDeletion:
    """Delete a book that was never ordered; deactivate one that was.

    Order lines reference books with ``on_delete=PROTECT``, so the delete is
    tried in a savepoint and a ``ProtectedError`` turns it into a
    deactivation: order history is never broken. The row is locked first, so
    an order placed meanwhile (which locks the book too) cannot slip in
    between the check and the delete.
    """
    book_id = book.pk
    with transaction.atomic():
        list(Book.objects.select_for_update().filter(pk=book_id).values_list("pk", flat=True))
        work_id = book.work_id
        try:
            with transaction.atomic():
                book.delete()
                _work_drop_if_empty(work_id)
        except ProtectedError:
            book.is_active = False
            book.updated_at = timezone.now()
            Book.objects.filter(pk=book_id).update(is_active=False, updated_at=book.updated_at)
            books_written(book_ids=[book_id], reindex=False)
            return BookDeletion.DEACTIVATED
        books_written(book_ids=[book_id], reindex=True)
    return BookDeletion.DELETED


# --- Several books at once (admin actions) ---------------------------------------------

PRICE_CHANGE_MIN_PERCENT = Decimal("-100")  # exclusive: a book is never made free by a percentage
PRICE_CHANGE_MAX_PERCENT = Decimal("1000")


def books_set_active(*, books: QuerySet[Book], is_active: bool) -> int:
    """Show (``is_active``) or hide ``books`` in the store in one UPDATE; returns how many changed.

    Hidden books stay in orders and in the search index, which covers every book
    and keeps whether it is shown (``search_index_set_active``).
    """
    with transaction.atomic():
        changing = list(
            Book.objects.filter(pk__in=books.values("pk")).exclude(is_active=is_active).values_list("pk", flat=True)
        )
        changed = Book.objects.filter(pk__in=changing).update(is_active=is_active, updated_at=timezone.now())
        search_index_set_active(book_ids=changing)
        if changed:
            books_written(book_ids=[], reindex=False)
        return changed


def books_price_change(*, books: QuerySet[Book], percent: Decimal, by: Any = None) -> int:
    """Raise (``percent`` > 0) or lower the price of ``books`` by ``percent``, each rounded half-up to the cent.

    ``percent`` must be above -100 and at most 1000, and not 0; a new price
    beyond what a price can hold is refused too (``PriceChangeInvalid``), and
    then nothing changes. The books are locked in id order while they are
    repriced. Returns the number of books.
    """
    if not PRICE_CHANGE_MIN_PERCENT < percent <= PRICE_CHANGE_MAX_PERCENT or percent == 0:
        raise PriceChangeInvalid()
    factor = (Decimal(100) + percent) / Decimal(100)
    with transaction.atomic():
        locked = list(
            Book.objects.select_for_update()
            .filter(pk__in=books.values("pk"))
            .order_by("pk")
            .only("pk", "price", "title", "isbn")
        )
        now = timezone.now()
        old_prices = {book.pk: book.price for book in locked}
        for book in locked:
            book.price = money(book.price * factor)
            book.updated_at = now
            if book.price > MAX_PRICE:
                raise PriceChangeInvalid(f"The new price of book {book.pk} would exceed {MAX_PRICE}.")
        Book.objects.bulk_update(locked, ["price", "updated_at"], batch_size=500)
        audit_records(
            by=by,
            objects=((book, {"price": (old_prices[book.pk], book.price)}) for book in locked),
            about=("price change", f"{percent:+}%"),
        )
        books_written(book_ids=[book.pk for book in locked], reindex=False)
    return len(locked)


# --- Popularity -------------------------------------------------------------------

_SALES_SQL = {
    # (zero the books no longer in the figures, set the others where they changed); one JSON parameter each,
    # so the number of books is not bound by the database's limit on parameters.
    "postgresql": (
        "UPDATE books SET recent_sales = 0 WHERE recent_sales > 0"
        " AND id NOT IN (SELECT key::bigint FROM jsonb_each_text(%s::jsonb))",
        "UPDATE books b SET recent_sales = s.n"
        " FROM (SELECT key::bigint AS id, value::bigint AS n FROM jsonb_each_text(%s::jsonb)) s"
        " WHERE b.id = s.id AND b.recent_sales <> s.n",
    ),
    "sqlite": (
        "UPDATE books SET recent_sales = 0 WHERE recent_sales > 0"
        " AND id NOT IN (SELECT CAST(key AS INTEGER) FROM json_each(%s))",
        "UPDATE books SET recent_sales = s.n"
        " FROM (SELECT CAST(key AS INTEGER) AS id, CAST(value AS INTEGER) AS n FROM json_each(%s)) AS s"
        " WHERE books.id = s.id AND books.recent_sales <> s.n",
    ),
}


# The sums over the sold books, per author (each book once, whatever the credits' roles) and per series; the
# same SQL on both databases. Zero the rows with no sold book left, then set the others where they changed.
_SUMS = {
    "authors": "SELECT author_id AS owner, SUM(recent_sales) AS total FROM ("
    "SELECT DISTINCT ba.author_id, b.id, b.recent_sales FROM book_authors ba JOIN books b ON b.id = ba.book_id"
    " WHERE b.recent_sales > 0) AS sold GROUP BY author_id",
    "series": "SELECT series_id AS owner, SUM(recent_sales) AS total FROM books"
    " WHERE recent_sales > 0 AND series_id IS NOT NULL GROUP BY series_id",
}


def book_recent_sales_update(*, sales: Mapping[int, int]) -> int:
    """Set each book's ``recent_sales`` to ``sales[book_id]`` (copies sold in the last 90 days; 0 when absent).

    Then each author's and each series' ``recent_sales`` becomes the sum over
    their books (a book crediting one person in two roles counts once). Only
    rows whose figure changes are written; ids of books that no longer exist
    are ignored. One transaction (on PostgreSQL, called outside a transaction,
    followed by a ``VACUUM ANALYZE`` of the three tables); returns the number
    of books changed. The daily job of ``orders`` computes ``sales`` and calls
    this.
    """
    figures = json.dumps({str(int(book_id)): int(n) for book_id, n in sales.items() if int(n) > 0})
    connection = connections[Book.objects.db]
    zero_sql, set_sql = _SALES_SQL[connection.vendor]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(zero_sql, [figures])
        changed = cursor.rowcount
        cursor.execute(set_sql, [figures])
        changed += cursor.rowcount
        for table, sums in _SUMS.items():
            cursor.execute(
                f"UPDATE {table} SET recent_sales = 0 WHERE recent_sales > 0"  # noqa: S608 (fixed names)
                f" AND id NOT IN (SELECT owner FROM ({sums}) AS sums)"
            )
            cursor.execute(
                f"UPDATE {table} SET recent_sales = sums.total FROM ({sums}) AS sums"  # noqa: S608 (fixed names)
                f" WHERE {table}.id = sums.owner AND {table}.recent_sales <> sums.total"
            )
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The rewritten rows leave their pages out of the visibility map until a vacuum, and the
        # suggestions' index-only scans would read the table for them: vacuum now, once a day.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) books, authors, series")
    return changed
