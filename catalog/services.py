"""Catalog writes that carry a business rule.

Every write that changes indexed text (a book's title, subtitle, description
or publisher, its author links, an author's name) refreshes the search index
in the same transaction, so the index is never behind the committed catalog.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, ProtectedError, QuerySet, Value, When
from django.utils import timezone
from django.utils.text import slugify

from bookstore.limits import MAX_PRICE, money
from catalog import isbn as isbn_rules
from catalog.exceptions import (
    AuthorHasBooks,
    BookAuthorsInvalid,
    GenreHasBooks,
    GenreSlugTaken,
    InsufficientStock,
    IsbnInvalid,
    IsbnTaken,
    PriceChangeInvalid,
)
from catalog.fields import BOOK_COLUMN_FIELDS, INDEXED_FIELDS, book_values
from catalog.importing import BookRow
from catalog.ledger import StockNote, stock_movements_record
from catalog.models import Author, Book, BookAuthor, Genre, StockMovement
from catalog.search import search_index_update

#: Book fields whose text is in the search index (with the author names).
INDEXED_BOOK_FIELDS = INDEXED_FIELDS


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


def stock_reserve(*, quantities: Mapping[int, int], fields: Sequence[str] = ()) -> dict[int, Book]:
    """Take ``quantities`` ({book_id: n}) out of stock, all or nothing.

    Books are locked with ``SELECT ... FOR UPDATE`` in id order, so two orders
    over the same books never deadlock; every line is checked before any is
    decremented, and ``InsufficientStock`` lists every short line. Must run
    inside the caller's transaction (the lock lasts until it commits). Returns
    the locked books by id, their ``stock`` already reduced. Two queries
    whatever the number of lines. ``fields``: only these columns (and id and
    stock) are read under the lock.

    The caller records the movements (``catalog.ledger.stock_movements_record``,
    kind ``sale``, ``stock_after`` from the returned books) in the same
    transaction, once it knows what the stock was taken for (an order's number
    exists only after its insert); the ledger invariant tests hold it to that.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_reserve() must run inside transaction.atomic().")
    ids = sorted(quantities)
    locked = Book.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    if fields:
        locked = locked.only("pk", "stock", *fields)
    books = {book.pk: book for book in locked}
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


def stock_release(*, quantities: Mapping[int, int], note: StockNote) -> None:
    """Put ``quantities`` ({book_id: n}) back in stock, e.g. when an order is cancelled; ``note`` says why.

    The rows are locked in id order first, as ``stock_reserve`` does: a bare
    UPDATE locks them in whatever order the scan meets them, which can deadlock
    against a reservation of the same books. The movements go to the ledger.
    """
    if not quantities:
        return
    with transaction.atomic():
        stock = dict(
            Book.objects.select_for_update().filter(pk__in=sorted(quantities)).order_by("pk").values_list("pk", "stock")
        )
        _stock_apply(dict(quantities))
        stock_movements_record(
            note=note,
            changes={pk: (quantities[pk], current + quantities[pk]) for pk, current in stock.items()},
        )


def _stock_locked(book_ids: Iterable[int]) -> dict[int, int]:
    """Lock the books in id order (as ``stock_reserve`` does) and read their stock."""
    return dict(
        Book.objects.select_for_update().filter(pk__in=sorted(book_ids)).order_by("pk").values_list("pk", "stock")
    )


def stock_receive(*, counts: Mapping[int, int], by: Any, reference: str = "", reason: str = "") -> dict[int, int]:
    """Goods in: add ``counts`` ({book_id: copies > 0}) to stock in one transaction; returns the new stock by id.

    Unknown book ids are ignored (the caller lists what it could not match).
    Each book's addition is a ``goods_in`` movement of the ledger.
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
    return after


def stock_take(
    *, counts: Mapping[int, int], by: Any, reference: str = "", reason: str = ""
) -> dict[int, tuple[int, int]]:
    """Stock-take: set each counted book's stock to ``counts`` ({book_id: copies >= 0}) in one transaction.

    Books not counted keep their stock. A difference is a ``stocktake``
    movement. Returns {book_id: (stock before, counted)} for every counted book.
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
    return {pk: (stock[pk], counts[pk]) for pk in stock}


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
        if "name" in changed:
            search_index_update(book_ids=BookAuthor.objects.filter(author=author).values_list("book_id", flat=True))
    return author


def author_delete(*, author: Author) -> None:
    """Delete an author who is credited on no book; otherwise raise ``AuthorHasBooks``."""
    try:
        with transaction.atomic():
            author.delete()
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
    """Rename a genre or change its slug; the slug stays as it is unless given."""
    if name is not None:
        genre.name = name
    if slug is not None:
        genre.slug = slug
    with transaction.atomic():
        return _genre_save(genre, derive_slug=False, update_fields=["name", "slug", "updated_at"])


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
    if reindex:
        search_index_update(book_ids=book_ids)


def book_rows_check(*, rows: Sequence[BookRow]) -> None:
    """The rules a batch of ``BookRow`` must meet before the bulk upsert writes it.

    The single-book services hold the same rules: the ISBN in its 13-digit
    form, at least one author credited once each, and one book per ISBN.
    Rows read by ``catalog.importing`` already meet them; this guards every
    other producer of rows (the demo store, future feeds).
    """
    seen: set[str] = set()
    for row in rows:
        if len(row.isbn) != 13 or not row.isbn.isdigit():  # the check digit is the reader's to check
            raise IsbnInvalid(f"{row.isbn!r} is not an ISBN in its 13-digit form.")
        if row.isbn in seen:
            raise IsbnTaken(f"ISBN {row.isbn} appears twice in one batch.")
        seen.add(row.isbn)
        _authors_check(row.authors)


def _authors_check(keys: Sequence[object]) -> None:
    if not keys:
        raise BookAuthorsInvalid()
    if len(set(keys)) != len(keys):
        raise BookAuthorsInvalid("Each author may be credited only once.")


def _isbn13(raw: str) -> str:
    try:
        return isbn_rules.to_isbn13(raw)
    except isbn_rules.InvalidIsbn as exc:
        raise IsbnInvalid(str(exc)) from exc


def _book_save(book: Book, *, update_fields: list[str] | None = None) -> None:
    """Save ``book``; a duplicate ISBN, checked first or lost in a race, raises ``IsbnTaken``."""
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


def _book_set_authors(book: Book, authors: Sequence[Author]) -> None:
    """Credit ``authors`` on ``book`` in this order (positions 0, 1, ...)."""
    _authors_check([author.pk for author in authors])
    BookAuthor.objects.filter(book=book).delete()
    BookAuthor.objects.bulk_create(
        [BookAuthor(book=book, author=author, position=position) for position, author in enumerate(authors)]
    )


def book_create(*, authors: Sequence[Author], genres: Iterable[Genre] = (), by: Any = None, **fields: Any) -> Book:
    """Create a book crediting ``authors`` in order (at least one), and index it.

    ``fields`` are the book's columns of ``catalog.fields`` (``isbn``, ``title``
    and ``price`` required, the others default as declared). ``isbn`` may be
    any accepted ISBN-10/13 spelling; it is stored as ISBN-13 and must be
    unique (``IsbnInvalid`` / ``IsbnTaken`` otherwise). Its first stock is
    the opening movement of its ledger, made ``by`` the given user.
    """
    values = book_values(given=fields, names=BOOK_COLUMN_FIELDS)
    values["isbn"] = _isbn13(values["isbn"])
    book = Book(**values)
    with transaction.atomic():
        _book_save(book)
        _book_set_authors(book, authors)
        book.genres.set(list(genres))
        stock_movements_record(
            note=StockNote(kind=StockMovement.Kind.OPENING, by=by, reason="New book"),
            changes={book.pk: (book.stock, book.stock)},
        )
        books_written(book_ids=[book.pk], reindex=True)
    return book


def book_update(
    *,
    book: Book,
    authors: Sequence[Author] | None = None,
    genres: Iterable[Genre] | None = None,
    by: Any = None,
    **changes: Any,
) -> Book:
    """Change a book's fields (any columns of ``catalog.fields``), and replace its authors or genres when given.

    Only the given fields are written, so a concurrent stock change by an
    order is never overwritten. The book is re-indexed when indexed text or
    its authors change. A new stock is a movement ``by`` the given user
    (kind ``adjustment``), against the stock read under a row lock.
    """
    changes = book_values(given=changes, names=tuple(name for name in BOOK_COLUMN_FIELDS if name in changes))
    if "isbn" in changes:
        changes["isbn"] = _isbn13(changes["isbn"])
    changed: list[str] = []
    for name, value in changes.items():
        if getattr(book, name) != value:
            setattr(book, name, value)
            changed.append(name)
    with transaction.atomic():
        if "stock" in changed:
            before = Book.objects.select_for_update().filter(pk=book.pk).values_list("stock", flat=True).get()
            stock_movements_record(
                note=StockNote(kind=StockMovement.Kind.ADJUSTMENT, by=by),
                changes={book.pk: (book.stock - before, book.stock)},
            )
        if changed:
            _book_save(book, update_fields=[*changed, "updated_at"])
        if authors is not None:
            _book_set_authors(book, authors)
        if genres is not None:
            book.genres.set(list(genres))
        if changed or authors is not None or genres is not None:
            books_written(
                book_ids=[book.pk], reindex=authors is not None or bool(INDEXED_BOOK_FIELDS.intersection(changed))
            )
    return book


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
        try:
            with transaction.atomic():
                book.delete()
        except ProtectedError:
            book.is_active = False
            book.updated_at = timezone.now()
            Book.objects.filter(pk=book_id).update(is_active=False, updated_at=book.updated_at)
            return BookDeletion.DEACTIVATED
        books_written(book_ids=[book_id], reindex=True)
    return BookDeletion.DELETED


# --- Several books at once (admin actions) ---------------------------------------------

PRICE_CHANGE_MIN_PERCENT = Decimal("-100")  # exclusive: a book is never made free by a percentage
PRICE_CHANGE_MAX_PERCENT = Decimal("1000")


def books_set_active(*, books: QuerySet[Book], is_active: bool) -> int:
    """Show (``is_active``) or hide ``books`` in the store in one UPDATE; returns how many changed.

    Hidden books stay in orders and in the search index, which covers every book.
    """
    with transaction.atomic():
        return (
            Book.objects.filter(pk__in=books.values("pk"))
            .exclude(is_active=is_active)
            .update(is_active=is_active, updated_at=timezone.now())
        )


def books_price_change(*, books: QuerySet[Book], percent: Decimal) -> int:
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
            Book.objects.select_for_update().filter(pk__in=books.values("pk")).order_by("pk").only("pk", "price")
        )
        now = timezone.now()
        for book in locked:
            book.price = money(book.price * factor)
            book.updated_at = now
            if book.price > MAX_PRICE:
                raise PriceChangeInvalid(f"The new price of book {book.pk} would exceed {MAX_PRICE}.")
        Book.objects.bulk_update(locked, ["price", "updated_at"], batch_size=500)
    return len(locked)
