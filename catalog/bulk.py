"""Bulk writes of the catalog: set-based upsert of books by ISBN, and file imports built on it.

Used by the ``import_books`` command, the admin's import and ``seed_demo``. A
batch is staged (PostgreSQL: ``COPY``; SQLite: ``executemany``) and merged by
a constant number of statements whatever its size (``catalog.staging``).
"""

from __future__ import annotations

import queue
import sys
import threading
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet

from catalog import audit, readcache, services
from catalog.fields import AUTHOR_ROLE, BOOK_COLUMN_FIELDS, Credit
from catalog.importing import BookRow, Format, RowError, RowNotice, book_record, read_books
from catalog.ledger import StockNote
from catalog.loading import empty_catalog_load
from catalog.models import Author, Book, BookAuthor, Genre, Series, StockMovement
from catalog.staging import BookStage, Merged, Prepared, genre_name_from_slug

#: Rows staged and merged at a time: large enough that the per-batch statements cost little,
#: small enough that a batch's rows in memory stay a few megabytes.
DEFAULT_BATCH_SIZE = 10_000
#: Books whose search entries an import rebuilds in one statement once its rows are merged (``_reindex``).
REINDEX_CHUNK = 250_000


@dataclass(frozen=True, slots=True)
class UpsertResult:
    created: int
    updated: int
    book_ids: list[int]


@dataclass(slots=True)
class ImportResult:
    """What an import saw and did; ``written`` is false for a dry run or a rejected file.

    ``noticed``: values reported and left out (ONIX). ``book_ids``: every book
    the import created or changed (a row identical to its stored book changes
    nothing), in file order; empty unless ``written``.
    """

    valid: int = 0
    rejected: int = 0
    noticed: int = 0
    created: int = 0
    updated: int = 0
    written: bool = False
    book_ids: array[int] = field(default_factory=lambda: array("q"))


def authors_get_or_create(*, names: Iterable[str]) -> dict[str, int]:
    """Author ids by exact name, creating the missing authors (two queries at most).

    Names are not unique in the catalog; an existing name maps to its oldest author.
    """
    wanted = set(names)
    ids: dict[str, int] = {}
    for name, pk in Author.objects.filter(name__in=wanted).order_by("-pk").values_list("name", "pk"):
        ids[name] = pk  # descending, so the oldest id wins
    missing = [Author(name=name) for name in sorted(wanted - ids.keys())]
    if missing:
        for author in Author.objects.bulk_create(missing):
            assert author.pk is not None
            ids[author.name] = author.pk
    return ids


def genres_get_or_create(*, slugs: Iterable[str]) -> dict[str, int]:
    """Genre ids by slug, creating missing genres named after their slug."""
    wanted = set(slugs)
    if not wanted:
        return {}
    ids = dict(Genre.objects.filter(slug__in=wanted).values_list("slug", "pk"))
    missing = wanted - ids.keys()
    if missing:
        Genre.objects.bulk_create(
            [Genre(name=genre_name_from_slug(slug)[:100], slug=slug) for slug in sorted(missing)],
            ignore_conflicts=True,  # a genre created meanwhile by someone else is just as good
        )
        ids.update(Genre.objects.filter(slug__in=missing).values_list("slug", "pk"))
    return ids


def series_get_or_create(*, names: Iterable[str]) -> dict[str, int]:
    """Series ids by exact name, creating the missing series."""
    wanted = {name for name in names if name}
    if not wanted:
        return {}
    ids = dict(Series.objects.filter(name__in=wanted).values_list("name", "pk"))
    missing = wanted - ids.keys()
    if missing:
        Series.objects.bulk_create([Series(name=name) for name in sorted(missing)], ignore_conflicts=True)
        ids.update(Series.objects.filter(name__in=missing).values_list("name", "pk"))
    return ids


def _import_user_id(note: StockNote) -> int:
    """Who the admin history names for a bulk write: the note's user, else the system account."""
    by = note.by
    if by is not None and getattr(by, "is_authenticated", False) and by.pk:
        return int(by.pk)
    return int(audit.system_user().pk)


def books_upsert(*, rows: Sequence[BookRow], note: StockNote | None = None, history: bool = True) -> UpsertResult:
    """Create or update ``rows`` by ISBN in one set-based pass, then refresh their search entries.

    Authors (by name), genres (by slug) and series (by name) are created as
    needed; a new book gets a work of its own, an existing one keeps its work.
    A book's credits are replaced by the row's (``services.row_credits``:
    its contributors, or its authors in role author), in the row's order; its genres are
    replaced only when the row carries the ``genres`` column, and optional
    columns the row does not carry keep their stored value. The rows are
    staged (PostgreSQL: ``COPY``) and merged by a constant number of
    statements (``catalog.staging``).

    Only the SQL lives there; the rules are the single-book services': the rows
    are checked by ``services.book_rows_check`` (``IsbnInvalid``, ``IsbnTaken``,
    ``BookAuthorsInvalid``, nothing written) and every write is followed by
    ``services.books_written`` and ``services.stock_rose``, as ``book_create``
    and ``book_update`` are. Stock the rows set is written to the ledger as
    one INSERT of movements (``note``, default: kind ``import``), and, unless
    ``history`` is false (the demo store), the admin history as one INSERT
    (``catalog.audit``).
    """
    if not rows:
        return UpsertResult(created=0, updated=0, book_ids=[])
    services.book_rows_check(rows=rows)
    note = note or StockNote(kind=StockMovement.Kind.IMPORT)
    with transaction.atomic():
        stage = BookStage(note=note, user_id=_import_user_id(note) if history else None)
        merged = _stage_batch(stage, rows)
    return UpsertResult(created=merged.created, updated=len(rows) - merged.created, book_ids=merged.book_ids)


def books_upsert_batches(
    *, batches: Iterable[Sequence[BookRow]], note: StockNote | None = None, history: bool = True
) -> UpsertResult:
    """``books_upsert`` of every batch of ``batches`` (each: one row per ISBN), in one transaction, streamed.

    ``batches`` is drawn, checked (``services.book_rows_check``) and prepared
    for the staging tables in a thread of its own, one batch ahead of the
    merges, so making rows (Python) and merging them (the database) overlap;
    it must not use the database. The search entries of the written books are
    rebuilt once the last batch is merged (``_reindex``), inside the
    transaction. ``book_ids``: every row's book, in order.
    """
    note = note or StockNote(kind=StockMovement.Kind.IMPORT)
    reindex_later: array[int] = array("q")
    book_ids: list[int] = []
    created = updated = 0
    with transaction.atomic(), empty_catalog_load() as load:
        stage = BookStage(note=note, user_id=_import_user_id(note) if history else None)

        def prepare(batch: list[BookRow]) -> Prepared:
            services.book_rows_check(rows=batch)
            return stage.prepare(batch)

        ahead = _read_ahead((list(batch) for batch in batches if batch), lambda: 0, prepare)
        try:
            for batch, _read, prepared, staged in ahead:
                load.start(len(batch))
                merged = _stage_batch(stage, prepared or batch, reindex_later=reindex_later, staged=staged)
                load.merged(len(batch))
                created += merged.created
                updated += len(batch) - merged.created
                book_ids.extend(merged.book_ids)
        finally:
            ahead.close()  # stops the thread, whatever ended the writes
        load.analyze()
        _reindex(reindex_later)
    return UpsertResult(created=created, updated=updated, book_ids=book_ids)


def _stage_batch(
    stage: BookStage,
    rows: Sequence[BookRow] | Prepared,
    *,
    reindex_later: array[int] | None = None,
    staged: Callable[[], None] | None = None,
) -> Merged:
    """Load and merge one batch (its rows, or their records from ``BookStage.prepare``), then what follows
    every write of books (inside the transaction).

    ``staged``: called once the batch is in the staging tables.
    ``reindex_later``: the books whose search entries are due are appended
    there instead of being reindexed now (``_reindex``, once the last batch is
    merged); they are reported written without a reindex meanwhile.
    """
    stage.load(rows)
    if staged is not None:
        staged()  # a reader may start on the next batch (``_read_ahead``)
    merged = stage.merge()
    # Rows identical to their stored book wrote nothing, so nothing follows for them.
    if reindex_later is not None:
        reindex_later.extend(merged.reindex)
        if merged.written:
            services.books_written(book_ids=merged.written, reindex=False)
    else:
        services.books_written(book_ids=merged.reindex, reindex=True)
        reindexed = set(merged.reindex)
        unindexed = [book_id for book_id in merged.written if book_id not in reindexed]
        if unindexed:
            services.books_written(book_ids=unindexed, reindex=False)
    services.stock_rose(book_ids=merged.restocked)
    return merged


def _reindex(book_ids: array[int]) -> None:
    """The search entries of an import's books, rebuilt in passes of ``REINDEX_CHUNK`` books once every batch is merged.

    One pass over many books costs the database less than one per batch: the
    documents and the GIN index's entries are built in one statement, and the
    per-statement work (the id lists, the vocabulary query) is paid once.
    """
    for start in range(0, len(book_ids), REINDEX_CHUNK):
        services.books_written(book_ids=book_ids[start : start + REINDEX_CHUNK], reindex=True)


def _batches(rows: Iterable[BookRow], size: int) -> Iterable[list[BookRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class _ReadFailed:
    """An exception of the reading thread, carried to the writer."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception


_READ_DONE = object()

#: The interpreter's thread switch interval while an import reads ahead (seconds; Python's default is 0.005).
#: The writing thread waits on the database some twenty times a batch and must take the GIL back from the
#: reader each time; at the default it waited up to 5 ms for it every time, which made the writer, not the
#: reader, the slower of the two (100,000 rows: 17.6 s at the default, 14.1-15.4 s at 0.0002).
READ_AHEAD_SWITCH_INTERVAL = 0.0002


def _read_ahead(
    batches: Iterable[list[BookRow]], counted: Callable[[], int], prepare: Callable[[list[BookRow]], Prepared]
) -> Generator[tuple[list[BookRow], int, Prepared | None, Callable[[], None]], None, None]:
    """``(batch, records read when it was complete, its staging records, staged)``, read, checked and
    prepared (``prepare``) one batch ahead in a thread of its own.

    Reading, checking and preparing a batch is Python work, merging the
    previous one the database's: they overlap, and the reader holds no more
    than one batch in waiting. The reader touches no database. An exception
    of the reader is raised here; leaving early stops the reader.

    The writer calls ``staged()`` once the batch is in the staging tables
    (at the latest, it is called when the next batch is asked for): only
    then does the reader start on the next batch. Streaming a batch to
    ``COPY`` is Python work too, a row at a time, and the connection gives
    the GIL back at every write to the socket; with the reader running
    meanwhile each write waited for the reader's turn to end, which made the
    COPY several times slower than the merge that follows it.

    Meanwhile the interpreter switches threads every
    ``READ_AHEAD_SWITCH_INTERVAL`` seconds rather than every 5 ms, so the
    writer gets the GIL back soon after each answer of the database.
    """
    waiting: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()
    go = threading.Semaphore(0)
    released = True

    def staged() -> None:
        nonlocal released
        if not released:
            released = True
            go.release()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put((batch, counted(), prepare(batch))):
                    return
                while not go.acquire(timeout=0.1):  # the next batch once this one is staged
                    if stop.is_set():
                        return
            put(_READ_DONE)
        except BaseException as exc:  # carried to the writer and raised there
            put(_ReadFailed(exc))

    reader = threading.Thread(target=read, name="import-reader", daemon=True)
    with _short_switch_interval():
        reader.start()
        try:
            while (item := waiting.get()) is not _READ_DONE:
                if isinstance(item, _ReadFailed):
                    raise item.exception
                released = False
                yield (*item, staged)
                staged()
        finally:
            stop.set()
            reader.join()


_switching = threading.Lock()
_switching_users = 0
_switching_saved = 0.0


@contextmanager
def _short_switch_interval() -> Iterator[None]:
    """``READ_AHEAD_SWITCH_INTERVAL`` while any import of this process reads ahead; the interval before, after."""
    global _switching_users, _switching_saved
    with _switching:
        if not _switching_users:
            _switching_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switching_saved, READ_AHEAD_SWITCH_INTERVAL))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching:
            _switching_users -= 1
            if not _switching_users:
                sys.setswitchinterval(_switching_saved)


def import_finished(*, book_ids: Sequence[int]) -> None:
    """The one place a written import ends, run after its commit with the ids of every book it wrote.

    The stored catalog documents go (``books_written`` already asked for it per batch; this holds whatever
    path the rows took).
    """
    if book_ids:
        readcache.catalog_changed()


def books_import(
    *,
    open_lines: Callable[[], Iterable[bytes]],
    note: StockNote | None = None,
    fmt: Format,
    dry_run: bool = False,
    skip_invalid: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_error: Callable[[RowError], None] = lambda error: None,
    on_notice: Callable[[RowNotice], None] = lambda notice: None,
    progress: Callable[[int], None] | None = None,
    read_ahead: bool = False,
) -> ImportResult:
    """Import a book file streamed from ``open_lines()`` (called once).

    Memory stays flat whatever the file size: rows are validated one at a time
    and written in batches of ``batch_size`` (staged with ``COPY`` on
    PostgreSQL, merged set-based: ``catalog.staging``). Every rejected row goes
    to ``on_error``. ``fmt="onix"``: ``open_lines()`` may yield chunks of any
    size; prices are read in ``settings.STORE_CURRENCY``; what a product
    carries that the store leaves out goes to ``on_notice``.

    ``progress(rows_done)``, if given, is called after each batch with the
    number of records read so far (valid and rejected), and once at the end.

    ``read_ahead``: the file is read and checked, and each batch's staging
    records built (``BookStage.prepare``), in a thread of its own, one batch
    ahead of the writes (``open_lines``, ``on_error`` and ``on_notice`` then
    run in that thread and must not use the database).

    The search entries of the written books are rebuilt once every batch is
    merged, in passes of ``REINDEX_CHUNK`` books, inside the transaction.

    - ``dry_run``: the rows are checked, nothing written.
    - ``skip_invalid``: the valid rows are written, the rejected reported.
    - default, all or nothing: the rows are written as they are checked, inside
      one transaction; from the first rejected row on, nothing more is written
      (the rest is still checked and reported) and the transaction is rolled back.

    The stock ledger gets a movement of ``note``'s kind (default ``import``)
    per book whose stock changed, and the admin history an entry per book
    created or whose price or stock changed, both attributed to ``note.by``
    (the history: to the system account if no one). After the commit,
    ``import_finished`` runs with the written books' ids (``result.book_ids``).

    Raises ``ImportFormatError`` for a file that cannot be read at all.
    """
    result = ImportResult()
    read = 0

    def valid_rows() -> Iterable[BookRow]:
        nonlocal read
        for row in read_books(open_lines(), fmt=fmt, currency=settings.STORE_CURRENCY, on_notice=notice):
            read += 1
            if isinstance(row, RowError):
                result.rejected += 1
                on_error(row)
            else:
                result.valid += 1
                yield row

    def notice(found: RowNotice) -> None:
        result.noticed += 1
        on_notice(found)

    batches = _batches(valid_rows(), batch_size)
    if dry_run:
        for _ in batches:
            if progress:
                progress(read)
        if progress:
            progress(read)
        return result

    note = note or StockNote(kind=StockMovement.Kind.IMPORT)
    user_id = _import_user_id(note)
    counted: Generator[tuple[list[BookRow], int, Prepared | None, Callable[[], None]], None, None] | None = None
    reindex_later: array[int] = array("q")
    try:
        with transaction.atomic(), empty_catalog_load() as load:
            stage = BookStage(note=note, user_id=user_id)
            counted = (
                _read_ahead(batches, lambda: read, stage.prepare)
                if read_ahead
                else ((batch, read, None, _nothing) for batch in batches)
            )
            for batch, batch_read, prepared, staged in counted:
                if result.rejected and not skip_invalid:
                    # All or nothing, and something was rejected: check and report the rest, write no more.
                    if progress:
                        progress(batch_read)
                    continue
                load.start(len(batch))
                merged = _stage_batch(stage, prepared or batch, reindex_later=reindex_later, staged=staged)
                load.merged(len(batch))
                result.created += merged.created
                result.updated += len(batch) - merged.created
                result.book_ids.extend(merged.written)
                if progress:
                    progress(batch_read)
            if result.rejected and not skip_invalid:
                raise _RolledBack()
            load.analyze()
            _reindex(reindex_later)
            del reindex_later[:]
            ids = result.book_ids
            transaction.on_commit(lambda: import_finished(book_ids=ids))
    except _RolledBack:
        result.created = result.updated = 0
        result.book_ids = array("q")
        return result
    finally:
        if counted is not None:
            counted.close()  # stops the reader, if any, whatever ended the writes
    if progress:
        progress(read)
    result.written = True
    return result


def _nothing() -> None:
    pass


class _RolledBack(Exception):
    """Leaves ``transaction.atomic`` of an all-or-nothing import that found a rejected row."""


def book_export_records(*, queryset: QuerySet[Book] | None = None, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Every book of ``queryset`` (default: all), by id, as an import record (``catalog.importing.book_record``).

    Streams in chunks of ``chunk_size`` books (three queries per chunk), so the
    whole catalog is never in memory. Used by ``export_books`` and the admin's CSV export.
    """
    base = Book.objects.all() if queryset is None else queryset.prefetch_related(None)
    books = base.order_by("pk").prefetch_related(
        Prefetch("author_links", queryset=BookAuthor.objects.select_related("author").order_by("position", "pk")),
        Prefetch("genres", queryset=Genre.objects.order_by("slug")),
    )
    for book in books.select_related("series").iterator(chunk_size=chunk_size):
        links = book.author_links.all()
        yield book_record(
            authors=[link.author.name for link in links if link.role == AUTHOR_ROLE],
            contributors=[Credit(link.author.name, link.role) for link in links],
            genres=[genre.slug for genre in book.genres.all()],
            series=book.series.name if book.series else None,
            **{name: getattr(book, name) for name in BOOK_COLUMN_FIELDS},
        )
