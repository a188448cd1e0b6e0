"""Bulk writes of the catalog: set-based upsert of books by ISBN, and file imports built on it.

Used by the ``import_books`` and ``seed_demo`` commands. A batch costs a
constant number of statements whatever its size (on SQLite, per
``STATEMENT_ROWS`` rows): ``INSERT ... ON CONFLICT (isbn) DO UPDATE ...
RETURNING``, which both databases understand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from catalog import readcache, services
from catalog.fields import AUTHOR_ROLE, BOOK_COLUMN_FIELDS, BOOK_FIELDS_BY_NAME, REQUIRED_FIELDS, Credit
from catalog.importing import BookRow, Format, ImportFormatError, RowError, RowNotice, book_record, read_books
from catalog.ledger import StockNote, stock_movements_record
from catalog.models import Author, Book, BookAuthor, Genre, Series, StockMovement, Work

DEFAULT_BATCH_SIZE = 1000

#: Book columns a row sets when it carries them; the required ones (isbn, title, price) it always sets.
_FIELD_COLUMNS = tuple(name for name in BOOK_COLUMN_FIELDS if name not in REQUIRED_FIELDS)
_REQUIRED_COLUMNS = tuple(name for name in BOOK_COLUMN_FIELDS if name in REQUIRED_FIELDS)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    created: int
    updated: int
    book_ids: list[int]


@dataclass(slots=True)
class ImportResult:
    """What an import saw and did; ``written`` is false for a dry run or a rejected file.

    ``noticed``: values reported and left out (ONIX), counted on the last pass.
    """

    valid: int = 0
    rejected: int = 0
    noticed: int = 0
    created: int = 0
    updated: int = 0
    written: bool = False


def genre_name_from_slug(slug: str) -> str:
    """``science-fiction`` → ``Science fiction``: the name a genre gets when an import creates it."""
    return slug.replace("-", " ").replace("_", " ").strip().capitalize() or slug


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


#: Rows per INSERT statement on SQLite: 500 x 22 parameters stays far below its limit.
STATEMENT_ROWS = 500


_BOOK_COLUMNS = (*_REQUIRED_COLUMNS, *_FIELD_COLUMNS)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _columns(model: type[models.Model], *names: str) -> list[str]:
    return [_field(model, name).column for name in names]


def _quoted(*names: str) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def _insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]], *, suffix: str = ""
) -> list[tuple[Any, ...]]:
    """``INSERT INTO <model's table> (<fields>) ... <suffix>`` for ``rows`` (values adapted to the database).

    PostgreSQL gets one statement with an array per column (``SELECT * FROM
    unnest(...)``), which it parses twice as fast as a long ``VALUES`` list;
    SQLite gets ``VALUES (...), (...)`` in statements of ``STATEMENT_ROWS`` rows,
    within its limit on parameters. Returns the rows of a ``RETURNING`` suffix.
    """
    if not rows:
        return []
    fields = [_field(model, name) for name in names]
    target = f"{connection.ops.quote_name(model._meta.db_table)} ({_quoted(*(field.column for field in fields))})"
    returned: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
            cursor.execute(
                f"INSERT INTO {target} SELECT * FROM unnest({arrays}) {suffix}",  # noqa: S608 (names from model metadata)
                [list(column) for column in zip(*rows, strict=True)],
            )
            return cursor.fetchall() if "RETURNING" in suffix else []
        placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(rows), STATEMENT_ROWS):
            chunk = rows[start : start + STATEMENT_ROWS]
            cursor.execute(
                f"INSERT INTO {target} VALUES {', '.join([placeholders] * len(chunk))} {suffix}",  # noqa: S608
                [value for row in chunk for value in row],
            )
            if "RETURNING" in suffix:
                returned += cursor.fetchall()
    return returned


def _in_list(values: Sequence[Any]) -> tuple[str, list[Any] | str]:
    """``column <condition>`` matching any of ``values``, passed as one parameter (no limit on their number)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", list(values)
    return "IN (SELECT value FROM json_each(%s))", json.dumps(list(values))


def _isbn_ids(isbns: Sequence[str], *, lock: bool) -> dict[str, tuple[int, int]]:
    """Id and stock of the stored books among ``isbns``; ``lock``: rows locked (id order) until the commit.

    The lock is taken when the import sets stock, so the ledger's delta is
    against the stock the upsert replaces, not one an order changed meanwhile.
    """
    table, isbn, pk, stock = (
        connection.ops.quote_name(name)
        for name in (Book._meta.db_table, _field(Book, "isbn").column, Book._meta.pk.column, "stock")
    )
    condition, parameter = _in_list(isbns)
    locking = " ORDER BY 2 FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {isbn}, {pk}, {stock} FROM {table} WHERE {isbn} {condition}{locking}",  # noqa: S608
            [parameter],
        )
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _links_delete(model: type[models.Model], book_ids: Sequence[int]) -> None:
    """Delete the rows of a link table (``book_authors``, ``book_genres``) that belong to ``book_ids``."""
    if not book_ids:
        return
    table, column = connection.ops.quote_name(model._meta.db_table), _quoted(_field(model, "book").column)
    condition, parameter = _in_list(book_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} {condition}", [parameter])  # noqa: S608


def _works_for(rows: Sequence[BookRow], existing: dict[str, int]) -> dict[str, int]:
    """Each row's work by ISBN: an existing book's current work, a new work (titled like the row) for a new one."""
    ids = dict(Book.objects.filter(pk__in=list(existing.values())).values_list("isbn", "work_id"))
    new = [row for row in rows if row.isbn not in ids]
    if new:
        works = Work.objects.bulk_create([Work(title=row.title) for row in new])
        for row, work in zip(new, works, strict=True):
            assert work.pk is not None
            ids[row.isbn] = work.pk
    return ids


def _books_write(rows: Sequence[BookRow], *, work_ids: dict[str, int], series_ids: dict[str, int]) -> dict[str, int]:
    """Upsert ``rows`` into ``books`` by ISBN; their ids by ISBN.

    ``work_ids``: each row's work by ISBN (a new book's own, an existing
    book's current one, which is never changed here); ``series_ids``: series
    by name, for the rows that carry the ``series`` column.

    Django's ``bulk_create(update_conflicts=True)`` compiles every value of
    every row through the ORM, which dominated large imports; this writes the
    same ``INSERT ... ON CONFLICT (isbn) DO UPDATE ... RETURNING`` directly,
    with values adapted once per column by the model fields.
    """
    fields = {name: _field(Book, name) for name in (*_BOOK_COLUMNS, "work", "series", "created_at", "updated_at")}
    now = fields["updated_at"].get_db_prep_save(timezone.now(), connection)
    # Text, numbers and booleans go to the driver as they are; dates and decimals are adapted by their field.
    adapt = {
        name: field.get_db_prep_save
        for name, field in fields.items()
        if field.get_internal_type() in ("DecimalField", "DateField", "DateTimeField")
    }
    defaults = {name: BOOK_FIELDS_BY_NAME[name].default for name in _FIELD_COLUMNS}
    isbn_column, pk_column = _quoted(fields["isbn"].column), _quoted(Book._meta.pk.column)
    ids: dict[str, int] = {}

    # One statement per set of columns a row carries; a file normally has a single set.
    by_columns: dict[frozenset[str], list[BookRow]] = {}
    for row in rows:
        by_columns.setdefault(row.present & frozenset((*_FIELD_COLUMNS, "series")), []).append(row)
    for present, group in by_columns.items():
        # Per column: the row's value, or the declared default (the value a new book gets) if the row lacks it.
        plan = [
            (name, name in present or name in REQUIRED_FIELDS, adapt.get(name), defaults.get(name))
            for name in _BOOK_COLUMNS
        ]
        values = []
        for row in group:
            given = row.values
            record = [
                (convert(given[name], connection) if convert else given[name])
                if from_row
                else (convert(default, connection) if convert else default)
                for name, from_row, convert, default in plan
            ]
            series = series_ids[given["series"]] if "series" in present and given["series"] else None
            values.append([*record, work_ids[row.isbn], series, now, now])
        # Absent optional columns keep an existing book's value: only the present ones are updated.
        updated = _columns(
            Book, *(name for name in _REQUIRED_COLUMNS if name != "isbn"), *sorted(present), "updated_at"
        )
        assignments = ", ".join(f"{_quoted(column)} = EXCLUDED.{_quoted(column)}" for column in updated)
        returned = _insert_rows(
            Book,
            (*_BOOK_COLUMNS, "work", "series", "created_at", "updated_at"),
            values,
            suffix=f"ON CONFLICT ({isbn_column}) DO UPDATE SET {assignments} RETURNING {isbn_column}, {pk_column}",
        )
        ids.update(returned)
    return ids


def books_upsert(*, rows: Sequence[BookRow], note: StockNote | None = None) -> UpsertResult:
    """Create or update ``rows`` by ISBN in one set-based pass, then refresh their search entries.

    Authors (by name), genres (by slug) and series (by name) are created as
    needed; a new book gets a work of its own, an existing one keeps its work.
    A book's credits are replaced by the row's (``services.row_credits``:
    its contributors, or its authors in role author), in the row's order; its genres are
    replaced only when the row carries the ``genres`` column, and optional
    columns the row does not carry keep their stored value. A constant
    number of statements per ``STATEMENT_ROWS`` rows.

    Only the SQL lives here; the rules are the single-book services': the rows
    are checked by ``services.book_rows_check`` (``IsbnInvalid``, ``IsbnTaken``,
    ``BookAuthorsInvalid``, nothing written) and every write is followed by
    ``services.books_written`` and ``services.stock_rose``, as ``book_create``
    and ``book_update`` are. Stock the rows set is written to the ledger as
    one INSERT of movements (``note``, default: kind ``import``).
    """
    if not rows:
        return UpsertResult(created=0, updated=0, book_ids=[])
    services.book_rows_check(rows=rows)
    isbns = [row.isbn for row in rows]
    with transaction.atomic():
        credits = {row.isbn: services.row_credits(row) for row in rows}
        author_ids = authors_get_or_create(names=(name for row_credits in credits.values() for name, _ in row_credits))
        genre_ids = genres_get_or_create(slugs=(slug for row in rows for slug in row.genres))
        series_ids = series_get_or_create(names=(row.series for row in rows if "series" in row.present and row.series))
        sets_stock = [row for row in rows if "stock" in row.present]
        found = _isbn_ids(isbns, lock=bool(sets_stock))
        existing = {isbn: pk for isbn, (pk, _stock) in found.items()}
        work_ids = _works_for(rows, existing)
        book_ids = _books_write(rows, work_ids=work_ids, series_ids=series_ids)
        stock_movements_record(
            note=note or StockNote(kind=StockMovement.Kind.IMPORT),
            changes={
                book_ids[row.isbn]: (row.values["stock"] - found.get(row.isbn, (0, 0))[1], row.values["stock"])
                for row in sets_stock
            },
        )

        _links_delete(BookAuthor, list(existing.values()))
        _insert_rows(
            BookAuthor,
            ("book", "author", "role", "position"),
            [
                (book_ids[row.isbn], author_ids[name], role, position)
                for row in rows
                for position, (name, role) in enumerate(credits[row.isbn])
            ],
        )
        with_genres = [row for row in rows if "genres" in row.present]
        through = Book.genres.through
        _links_delete(through, [existing[row.isbn] for row in with_genres if row.isbn in existing])
        _insert_rows(
            through,
            ("book", "genre"),
            [(book_ids[row.isbn], genre_ids[slug]) for row in with_genres for slug in row.genres],
        )
        ids = [book_ids[isbn] for isbn in isbns]
        services.books_written(book_ids=ids, reindex=True)
        services.stock_rose(book_ids=ids)
    return UpsertResult(created=len(rows) - len(existing), updated=len(existing), book_ids=ids)


def _batches(rows: Iterable[BookRow], size: int) -> Iterable[list[BookRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


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
) -> ImportResult:
    """Import a book file streamed from ``open_lines()`` (called once per pass).

    Memory stays flat whatever the file size: rows are validated one at a time
    and written in batches of ``batch_size``. Every rejected row goes to
    ``on_error``. ``fmt="onix"``: ``open_lines()`` may yield chunks of any size;
    prices are read in ``settings.STORE_CURRENCY``; what a product carries that
    the store leaves out goes to ``on_notice`` (once, on the first pass).

    - ``dry_run``: one validating pass, nothing written.
    - ``skip_invalid``: one pass in one transaction writing the valid rows.
    - default, all or nothing: a validating pass; only when no row was
      rejected, a second pass writes every row inside one transaction.
      ONIX: one pass writes the rows as they are checked, inside one
      transaction that is rolled back if any row was rejected.

    Raises ``ImportFormatError`` for a file that cannot be read at all.
    """
    result = ImportResult()
    passes = 0

    def notice(found: RowNotice) -> None:
        if passes == 1:
            result.noticed += 1
            on_notice(found)

    def valid_rows() -> Iterable[BookRow]:
        nonlocal passes
        passes += 1
        for row in read_books(open_lines(), fmt=fmt, currency=settings.STORE_CURRENCY, on_notice=notice):
            if isinstance(row, RowError):
                result.rejected += 1
                on_error(row)
            else:
                result.valid += 1
                yield row

    # ONIX is parsed once: its rows are written as they are checked, and the transaction is rolled back
    # if any was rejected. Parsing XML costs as much as the writes, so a second pass would nearly double it.
    single_pass = fmt == "onix"
    if dry_run or (not skip_invalid and not single_pass):
        for _ in valid_rows():
            pass
        if dry_run or result.rejected:
            return result
        result.valid = 0

    try:
        with transaction.atomic():
            for batch in _batches(valid_rows(), batch_size):
                upserted = books_upsert(rows=batch, note=note)
                result.created += upserted.created
                result.updated += upserted.updated
            # Where the import finishes writing: the stored catalog documents go once it commits.
            readcache.catalog_changed()
            if result.rejected and not skip_invalid:
                if single_pass:
                    raise _RolledBack()
                # The file changed between the passes; roll back rather than write half of it.
                raise ImportFormatError("the file changed while it was being imported; nothing was written")
    except _RolledBack:
        result.created = result.updated = 0
        return result
    result.written = True
    return result


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
