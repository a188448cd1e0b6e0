# ruff: noqa: S608  (every statement is built from model metadata and fixed names; values are parameters)
"""The set-based write of book rows: a staging table loaded in bulk, then merged into the catalog with SQL.

PostgreSQL loads the staging tables with ``COPY`` (psycopg 3's ``cursor.copy``),
SQLite with ``executemany``; the merge is the same handful of ``INSERT ...
SELECT`` / ``UPDATE ... FROM`` statements on both, whatever the number of rows:

- authors (by exact name; an existing name maps to its oldest author), genres
  (by slug) and series (by name) are created as needed;
- existing books (by ISBN) are locked, their stock and price remembered, then
  updated; new books get a work of their own and are inserted;
- stock the rows set is written to the ledger (``catalog.ledger``), one
  movement of the note's kind per book whose stock changed;
- credits are replaced by the rows', genres when a row carries them;
- the admin history gets an ADDITION per created book and a CHANGE per book
  whose price or stock changed (``catalog.audit``).

The staging tables are temporary, created inside the writer's transaction and
(on PostgreSQL) dropped at its commit, so nothing outlives an import and a
pooler in transaction mode sees no session state. ``BookStage`` is used by
``catalog.bulk`` only; the rules (validation, ``services.books_written``,
``services.stock_rose``) stay there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

from catalog import audit, services
from catalog.fields import BOOK_COLUMN_FIELDS, INDEXED_FIELDS, REQUIRED_FIELDS
from catalog.importing import BookRow
from catalog.ledger import StockNote, stock_movements_insert_select
from catalog.loading import deferred_checks_run
from catalog.models import Author, Book, BookAuthor, Genre, Series, StockMovement, Work
from catalog.pgarray import bigint_array, text_array

#: Book columns a row sets when it carries them; the required ones (isbn, title, price) it always sets.
FIELD_COLUMNS = tuple(name for name in BOOK_COLUMN_FIELDS if name not in REQUIRED_FIELDS)
REQUIRED_COLUMNS = tuple(name for name in BOOK_COLUMN_FIELDS if name in REQUIRED_FIELDS)
BOOK_COLUMNS = (*REQUIRED_COLUMNS, *FIELD_COLUMNS)
#: The optional columns a row may carry, one bit each in the staging table's ``present``.
PRESENT_BITS = {name: 1 << index for index, name in enumerate((*FIELD_COLUMNS, "series", "genres"))}

STAGE = "import_book_stage"
CREDITS = "import_credit_stage"
GENRES = "import_genre_stage"

#: PostgreSQL's ``work_mem`` for the transaction of a bulk write (``SET LOCAL``: nothing outlives it).
WORK_MEM = "64MB"

#: Rows per ``executemany`` round on SQLite (one statement, many parameter sets).
SQLITE_CHUNK = 5000

#: The tables a merge writes rows into (``BookStage._checks_run``).
WRITTEN = tuple(
    model._meta.db_table
    for model in (Author, Genre, Series, Work, Book, BookAuthor, Book.genres.through, StockMovement, LogEntry)
)


def genre_name_from_slug(slug: str) -> str:
    """``science-fiction`` → ``Science fiction``: the name a genre gets when an import creates it."""
    return slug.replace("-", " ").replace("_", " ").strip().capitalize() or slug


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: type[models.Model]) -> str:
    return _q(model._meta.db_table)


def _column(model: type[models.Model], name: str) -> str:
    return _q(_field(model, name).column)


def _any(values: Sequence[Any], *, text: bool = False) -> tuple[str, Any]:
    """``<column> <condition>`` matching any of ``values``, as one parameter.

    The large tables are always reached through such a list of keys (PostgreSQL:
    an array, SQLite: a JSON list), so the planner probes their indexes instead
    of scanning them once per batch, which made a large import quadratic.
    ``text``: the values are strings (default: ids).
    """
    if connection.vendor == "postgresql":
        if text:
            return "= ANY(%s::text[])", text_array(values)
        return "= ANY(%s::bigint[])", bigint_array(values)
    return "IN (SELECT value FROM json_each(%s))", json.dumps(list(values))


@dataclass(frozen=True, slots=True)
class Merged:
    """What one merge wrote.

    ``book_ids``: every row's book, in row order; ``written``: the books created
    or changed in any way; ``reindex``: those whose indexed text or credits
    changed (or new); ``restocked``: existing books whose stock rose from zero.
    """

    book_ids: list[int]
    created: int
    written: list[int]
    reindex: list[int]
    restocked: list[int]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch's records for the staging tables (``BookStage.prepare``)."""

    books: list[tuple[Any, ...]]
    credits: list[tuple[Any, ...]]
    genres: list[tuple[Any, ...]]
    isbns: list[str]
    names: set[str]


class BookStage:
    """Staging tables for one transaction: ``load`` rows, ``merge`` them into the catalog, repeat.

    Must be used inside ``transaction.atomic``; the tables are emptied after each merge.
    """

    def __init__(self, *, note: StockNote, user_id: int | None) -> None:
        """``user_id``: whom the admin history names; ``None``: no history is written."""
        self.note = note
        self.user_id = user_id
        self.postgresql = connection.vendor == "postgresql"
        # This thread's connection, whose adapters ``prepare`` may use from another thread (no query).
        self._connection = connections[DEFAULT_DB_ALIAS]
        fields = {name: _field(Book, name) for name in BOOK_COLUMNS}
        # Decimals and dates go to SQLite adapted by their field; PostgreSQL's COPY takes the Python values.
        self._adapt = (
            {}
            if self.postgresql
            else {
                name: field.get_db_prep_save
                for name, field in fields.items()
                if field.get_internal_type() in ("DecimalField", "DateField")
            }
        )
        self._present_cache: dict[frozenset[str], int] = {}
        self._isbns: list[str] = []
        self._names: set[str] = set()
        self._existing: list[int] = []
        self._analyzed = False
        self._sequences: tuple[int, int] | None = None
        self._deferred: list[str] | None = None
        self._create_tables(fields)

    # --- loading ----------------------------------------------------------------------------

    def _create_tables(self, fields: dict[str, models.Field[Any, Any]]) -> None:
        typed = ", ".join(f"{_q(name)} {field.db_type(connection)}" for name, field in fields.items())
        drop = " ON COMMIT DROP" if self.postgresql else ""
        with connection.cursor() as cursor:
            if self.postgresql:
                # For the writer's transaction only: the merge's hash joins and sorts, and the search documents'
                # aggregates, run over a batch or a whole import; at the default 4 MB they spill to disk.
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (seq integer, present integer, {typed},"
                " series varchar(255), book_id bigint, work_id bigint, old_stock integer,"
                f" old_price {fields['price'].db_type(connection)}, created boolean, changed boolean,"
                " text_changed boolean, credits_changed boolean, genres_changed boolean)"
                f"{drop}"
            )
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {CREDITS} (isbn varchar(13), position integer,"
                f" name varchar(255), role varchar(12), author_id bigint){drop}"
            )
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {GENRES} (isbn varchar(13), slug varchar(100), name varchar(100)){drop}"
            )
        self._clear()

    def _present(self, present: frozenset[str]) -> int:
        bits = self._present_cache.get(present)
        if bits is None:
            bits = sum(bit for name, bit in PRESENT_BITS.items() if name in present)
            self._present_cache[present] = bits
        return bits

    def prepare(self, rows: Sequence[BookRow]) -> Prepared:
        """The staging tables' records of ``rows`` (a batch: one row per ISBN), for ``load``.

        Python only, no query: an import's reading thread prepares the next
        batch while the database merges the current one.
        """
        adapt = self._adapt
        books: list[tuple[Any, ...]] = []
        credits: list[tuple[Any, ...]] = []
        genres: list[tuple[Any, ...]] = []
        genre_bit = PRESENT_BITS["genres"]
        for seq, row in enumerate(rows):  # seq: the row order, which ids are returned in
            values = row.values
            present = self._present(row.present)
            isbn = values["isbn"]
            record = [values[name] for name in BOOK_COLUMNS]
            if adapt:
                for index, name in enumerate(BOOK_COLUMNS):
                    if name in adapt and record[index] is not None:
                        record[index] = adapt[name](record[index], self._connection)
            books.append((seq, present, *record, values["series"]))
            credits.extend(
                (isbn, position, name, role) for position, (name, role) in enumerate(services.row_credits(row))
            )
            if present & genre_bit:
                genres.extend((isbn, slug, genre_name_from_slug(slug)[:100]) for slug in values["genres"])
        return Prepared(
            books=books,
            credits=credits,
            genres=genres,
            isbns=[book[2 + BOOK_COLUMNS.index("isbn")] for book in books],
            names={credit[2] for credit in credits},
        )

    def load(self, rows: Sequence[BookRow] | Prepared) -> None:
        """Stage ``rows`` (a batch: one row per ISBN, or its records from ``prepare``) with their credits and genres."""
        prepared = rows if isinstance(rows, Prepared) else self.prepare(rows)
        self._isbns = prepared.isbns
        self._names = prepared.names
        self._write(STAGE, ("seq", "present", *BOOK_COLUMNS, "series"), prepared.books)
        self._write(CREDITS, ("isbn", "position", "name", "role"), prepared.credits)
        self._write(GENRES, ("isbn", "slug", "name"), prepared.genres)

    def _write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(_q(name) for name in columns)
        with connection.cursor() as cursor:
            if self.postgresql:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            placeholders = ", ".join(["%s"] * len(columns))
            statement = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"
            for start in range(0, len(rows), SQLITE_CHUNK):
                cursor.executemany(statement, rows[start : start + SQLITE_CHUNK])

    def _clear(self) -> None:
        with connection.cursor() as cursor:
            if self.postgresql:
                cursor.execute(f"TRUNCATE {STAGE}, {CREDITS}, {GENRES}")
            else:
                for table in (STAGE, CREDITS, GENRES):
                    cursor.execute(f"DELETE FROM {table}")

    # --- merging ----------------------------------------------------------------------------

    def merge(self) -> Merged:
        """Write the staged rows into the catalog (see the module's docstring), then empty the stage.

        A row identical to its stored book (columns, credits, genres) writes
        nothing: no update, no history, no reindex.
        """
        now = _field(Book, "updated_at").get_db_prep_save(timezone.now(), connection)
        stock_bit = PRESENT_BITS["stock"]
        with connection.cursor() as cursor:
            if self.postgresql and not self._analyzed:
                # Batches are alike: the statistics of the transaction's first batch serve the rest (TRUNCATE
                # keeps them, and the planner reads the row counts from the tables' current size).
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE tablename = %s"
                    " AND schemaname = (SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()))",
                    [STAGE],
                )
                if not cursor.fetchone()[0]:
                    cursor.execute(f"ANALYZE {STAGE}, {CREDITS}, {GENRES}")
                self._analyzed = True
            self._genres_and_series(cursor, now)
            self._find_books(cursor)
            self._authors(cursor, now)
            self._links_changed(cursor)
            self._works(cursor, now)
            self._books(cursor, now)
            stock_movements_insert_select(
                note=self.note,
                source=(
                    f"SELECT book_id, stock - COALESCE(old_stock, 0), stock FROM {STAGE}"
                    f" WHERE (present & {stock_bit}) <> 0 AND stock <> COALESCE(old_stock, 0)"
                    " ORDER BY book_id"
                ),
            )
            self._links(cursor)
            if self.user_id is not None:
                audit.book_history_insert_select(
                    user_id=self.user_id,
                    source=(
                        "SELECT book_id, title, created, "
                        "(NOT created AND price <> old_price) AS price_changed, "
                        f"(NOT created AND (present & {stock_bit}) <> 0 AND stock <> old_stock)"
                        " AS stock_changed "
                        f"FROM {STAGE}"
                    ),
                )
            cursor.execute(
                "SELECT book_id, created,"
                " (created OR changed OR credits_changed OR genres_changed),"
                " (created OR text_changed OR credits_changed),"
                f" (NOT created AND (present & {stock_bit}) <> 0 AND stock > 0 AND old_stock = 0)"
                f" FROM {STAGE} ORDER BY seq"
            )
            found = cursor.fetchall()
            self._checks_run(cursor)
        self._clear()
        return Merged(
            book_ids=[row[0] for row in found],
            created=sum(1 for row in found if row[1]),
            written=[row[0] for row in found if row[2]],
            reindex=[row[0] for row in found if row[3]],
            restocked=[row[0] for row in found if row[4]],
        )

    def _checks_run(self, cursor: Any) -> None:
        """Run now the foreign-key checks the batch queued until the commit (PostgreSQL).

        Django's keys are ``DEFERRABLE INITIALLY DEFERRED``: every row written
        queues a check per key until the commit, and ``TRUNCATE`` of the stage
        scans the whole queue for checks on the tables it empties. Over a
        million-row import the clearing grew from 0.2 to 64 ms a batch (3 s in
        all). Run batch by batch, the checks cost what they cost at the commit,
        and the queue stays one batch long. The keys stay deferred for the
        rest of the transaction.
        """
        if not self.postgresql:
            return
        if self._deferred is None:  # at the first merge: a load into an empty catalog has dropped its keys by then
            cursor.execute(
                "SELECT DISTINCT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable AND condeferred"
                " AND conrelid = ANY(%s::regclass[]) ORDER BY conname",
                [list(WRITTEN)],
            )
            self._deferred = [name for (name,) in cursor.fetchall()]
        deferred_checks_run(cursor, self._deferred, _q)

    def _find_books(self, cursor: Any) -> None:
        """Existing books by ISBN, locked in id order (so the ledger's delta is against the stock replaced).

        Marks the rows whose columns differ from the stored book (``changed``),
        and among them those whose indexed text differs (``text_changed``).
        """
        books, isbn, pk = _table(Book), _column(Book, "isbn"), _q(Book._meta.pk.column)
        work, series = _column(Book, "work"), _column(Book, "series")
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        differs = "IS DISTINCT FROM" if self.postgresql else "IS NOT"
        compared = [name for name in BOOK_COLUMNS if name != "isbn"]
        stored = ", ".join(f"{_column(Book, name)} AS {_q('old_' + name)}" for name in compared)

        def difference(name: str) -> str:
            test = f"{STAGE}.{_q(name)} {differs} b.{_q('old_' + name)}"
            return test if name in REQUIRED_FIELDS else f"(({STAGE}.present & {PRESENT_BITS[name]}) <> 0 AND {test})"

        series_lookup = (
            f"(SELECT sr.{_q(Series._meta.pk.column)} FROM {_table(Series)} sr"
            f" WHERE sr.{_column(Series, 'name')} = {STAGE}.series)"
        )
        series_differs = (
            f"(({STAGE}.present & {PRESENT_BITS['series']}) <> 0 AND {series_lookup} {differs} b.old_series)"
        )
        indexed = [name for name in compared if name in INDEXED_FIELDS]
        self._isbn_condition, self._isbn_parameter = _any(self._isbns, text=True)
        cursor.execute(
            f"UPDATE {STAGE} SET book_id = b.{pk}, work_id = b.{work}, old_stock = b.old_stock,"
            " old_price = b.old_price, created = FALSE,"
            f" changed = ({' OR '.join([*(difference(name) for name in compared), series_differs])}),"
            f" text_changed = ({' OR '.join(difference(name) for name in indexed)}),"
            " credits_changed = FALSE, genres_changed = FALSE"
            f" FROM (SELECT {pk}, {isbn}, {work}, {series} AS old_series, {stored} FROM {books}"
            f" WHERE {isbn} {self._isbn_condition} ORDER BY {pk}{lock}) AS b"
            f" WHERE b.{isbn} = {STAGE}.isbn",
            [self._isbn_parameter],
        )
        flags = "created = TRUE, changed = TRUE, text_changed = TRUE, credits_changed = TRUE, genres_changed = TRUE"
        if self.postgresql:
            # A new book's work and book ids are drawn here, in row order (volatile functions are evaluated
            # after the sort), so that the books are inserted with their ids and need no lookup afterwards.
            # The sequences are looked up once: pg_get_serial_sequence in the SELECT list ran for every row.
            if self._sequences is None:
                cursor.execute(
                    "SELECT pg_get_serial_sequence(%s, %s)::regclass::oid, pg_get_serial_sequence(%s, %s)::regclass::oid",
                    [Work._meta.db_table, Work._meta.pk.column, Book._meta.db_table, Book._meta.pk.column],
                )
                self._sequences = cursor.fetchone()
            cursor.execute(
                f"UPDATE {STAGE} SET {flags}, work_id = n.work_id, book_id = n.book_id FROM ("
                "SELECT seq, nextval(%s::oid) AS work_id, nextval(%s::oid) AS book_id"
                f" FROM {STAGE} WHERE book_id IS NULL ORDER BY seq) AS n WHERE {STAGE}.seq = n.seq",
                list(self._sequences),
            )
        else:
            cursor.execute(f"UPDATE {STAGE} SET {flags} WHERE book_id IS NULL")
        cursor.execute(f"SELECT book_id FROM {STAGE} WHERE NOT created")
        self._existing = [book_id for (book_id,) in cursor.fetchall()]

    def _links_changed(self, cursor: Any) -> None:
        """Mark the existing books whose credits (in order), or genres where the row carries them, differ."""
        if not self._existing:
            return
        condition, parameter = _any(self._existing)
        links, through = _table(BookAuthor), Book.genres.through
        link_book, link_author = _column(BookAuthor, "book"), _column(BookAuthor, "author")
        role, position = _column(BookAuthor, "role"), _column(BookAuthor, "position")
        staged = (
            f"SELECT s.isbn, c.author_id, c.role, c.position FROM {CREDITS} c"
            f" JOIN {STAGE} s ON s.isbn = c.isbn WHERE NOT s.created"
        )
        stored = (
            f"SELECT s.isbn, l.{link_author}, l.{role}, l.{position} FROM {links} l"
            f" JOIN {STAGE} s ON s.book_id = l.{link_book} WHERE l.{link_book} {condition}"
        )
        self._mark(cursor, "credits_changed", staged, stored, parameter)
        genre_bit = PRESENT_BITS["genres"]
        genre_pk, genre_slug = _q(Genre._meta.pk.column), _column(Genre, "slug")
        staged = (
            f"SELECT s.isbn, gn.{genre_pk} FROM {GENRES} g JOIN {STAGE} s ON s.isbn = g.isbn"
            f" JOIN {_table(Genre)} gn ON gn.{genre_slug} = g.slug WHERE NOT s.created"
        )
        stored = (
            f"SELECT s.isbn, l.{_column(through, 'genre')} FROM {_table(through)} l"
            f" JOIN {STAGE} s ON s.book_id = l.{_column(through, 'book')}"
            f" WHERE l.{_column(through, 'book')} {condition} AND (s.present & {genre_bit}) <> 0"
        )
        self._mark(cursor, "genres_changed", staged, stored, parameter)

    def _mark(self, cursor: Any, flag: str, staged: str, stored: str, parameter: Any) -> None:
        """Set ``flag`` on the rows whose ISBN is in the symmetric difference of two queries.

        ``stored`` takes ``parameter`` (the existing books' ids) once.
        """
        cursor.execute(
            f"UPDATE {STAGE} SET {flag} = TRUE WHERE isbn IN ("
            f"SELECT isbn FROM ({staged} EXCEPT {stored}) AS added"
            f" UNION SELECT isbn FROM ({stored} EXCEPT {staged}) AS removed)",
            [parameter, parameter],
        )

    def _authors(self, cursor: Any, now: Any) -> None:
        authors, name, pk = _table(Author), _column(Author, "name"), _q(Author._meta.pk.column)
        condition, names = _any(sorted(self._names), text=True)
        cursor.execute(
            f"INSERT INTO {authors} ({name}, {_column(Author, 'bio')}, {_column(Author, 'created_at')},"
            f" {_column(Author, 'updated_at')})"
            f" SELECT name, '', %s, %s FROM (SELECT DISTINCT name FROM {CREDITS} c"
            f" WHERE NOT EXISTS (SELECT 1 FROM {authors} a WHERE a.{name} {condition} AND a.{name} = c.name))"
            " AS missing ORDER BY name",
            [now, now, names],
        )
        cursor.execute(
            f"UPDATE {CREDITS} SET author_id = a.id FROM (SELECT {name} AS name, MIN({pk}) AS id"
            f" FROM {authors} WHERE {name} {condition} GROUP BY {name}) AS a"
            f" WHERE a.name = {CREDITS}.name",
            [names],
        )

    def _genres_and_series(self, cursor: Any, now: Any) -> None:
        genres, series = _table(Genre), _table(Series)
        cursor.execute(
            f"INSERT INTO {genres} ({_column(Genre, 'name')}, {_column(Genre, 'slug')},"
            f" {_column(Genre, 'created_at')}, {_column(Genre, 'updated_at')})"
            f" SELECT MIN(name), slug, %s, %s FROM {GENRES} WHERE TRUE GROUP BY slug ORDER BY slug"
            f" ON CONFLICT ({_column(Genre, 'slug')}) DO NOTHING",
            [now, now],
        )
        cursor.execute(
            f"INSERT INTO {series} ({_column(Series, 'name')}, {_column(Series, 'created_at')},"
            f" {_column(Series, 'updated_at')})"
            f" SELECT DISTINCT series, %s, %s FROM {STAGE}"
            f" WHERE series IS NOT NULL AND (present & {PRESENT_BITS['series']}) <> 0 ORDER BY series"
            f" ON CONFLICT ({_column(Series, 'name')}) DO NOTHING",
            [now, now],
        )

    def _works(self, cursor: Any, now: Any) -> None:
        """A new book gets a work of its own, titled like the book; ids are handed out before the insert."""
        works, pk = _table(Work), _q(Work._meta.pk.column)
        if not self.postgresql:  # PostgreSQL: drawn with the book ids in ``_find_books``
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {works}")
            top = cursor.fetchone()[0]
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [Work._meta.db_table])
            sequence = cursor.fetchone()
            base = max(top, sequence[0] if sequence else 0)
            cursor.execute(
                f"UPDATE {STAGE} SET work_id = %s + n.number FROM (SELECT rowid AS r,"
                f" row_number() OVER (ORDER BY seq) AS number FROM {STAGE} WHERE created) AS n"
                f" WHERE {STAGE}.rowid = n.r",
                [base],
            )
        cursor.execute(
            f"INSERT INTO {works} ({pk}, {_column(Work, 'title')}, {_column(Work, 'created_at')})"
            f" SELECT work_id, title, %s FROM {STAGE} WHERE created ORDER BY work_id",
            [now],
        )

    def _books(self, cursor: Any, now: Any) -> None:
        books, pk = _table(Book), _q(Book._meta.pk.column)
        series_name = _column(Series, "name")
        series_pk = _q(Series._meta.pk.column)
        existing, existing_ids = _any(self._existing)
        # Existing books: required columns always, optional ones only where the row carries them.
        assignments = [f"{_column(Book, name)} = s.{_q(name)}" for name in REQUIRED_COLUMNS if name != "isbn"]
        for name in FIELD_COLUMNS:
            column = _column(Book, name)
            assignments.append(
                f"{column} = CASE WHEN (s.present & {PRESENT_BITS[name]}) <> 0 THEN s.{_q(name)} ELSE {books}.{column} END"
            )
        series_column = _column(Book, "series")
        assignments.append(
            f"{series_column} = CASE WHEN (s.present & {PRESENT_BITS['series']}) <> 0 THEN"
            f" (SELECT sr.{series_pk} FROM {_table(Series)} sr WHERE sr.{series_name} = s.series)"
            f" ELSE {books}.{series_column} END"
        )
        assignments.append(f"{_column(Book, 'updated_at')} = %s")
        cursor.execute(
            f"UPDATE {books} SET {', '.join(assignments)} FROM {STAGE} AS s"
            f" WHERE {books}.{pk} {existing} AND {books}.{pk} = s.book_id AND s.changed AND NOT s.created",
            [now, existing_ids],
        )
        # New books: every column from the stage (an absent optional column holds its default there).
        # PostgreSQL: with the ids drawn in ``_find_books``; SQLite: ids given by the insert, then looked up.
        columns = ", ".join(_column(Book, name) for name in BOOK_COLUMNS)
        given = (f"{pk}, ", "s.book_id, ") if self.postgresql else ("", "")
        cursor.execute(
            f"INSERT INTO {books} ({given[0]}{columns}, {_column(Book, 'work')}, {series_column},"
            f" {_column(Book, 'created_at')}, {_column(Book, 'updated_at')})"
            f" SELECT {given[1]}{', '.join(f's.{_q(name)}' for name in BOOK_COLUMNS)}, s.work_id,"
            f" sr.{series_pk}, %s, %s"
            f" FROM {STAGE} AS s LEFT JOIN {_table(Series)} sr ON sr.{series_name} = s.series"
            " WHERE s.created ORDER BY s.seq",
            [now, now],
        )
        if not self.postgresql:
            isbn = _column(Book, "isbn")
            cursor.execute(
                f"UPDATE {STAGE} SET book_id = (SELECT b.{pk} FROM {books} AS b WHERE b.{isbn} = {STAGE}.isbn)"
                " WHERE created"
            )

    def _links(self, cursor: Any) -> None:
        """Credits replaced by the rows'; genres replaced where a row carries them."""
        links, through = _table(BookAuthor), Book.genres.through
        link_book = _column(BookAuthor, "book")
        if self._existing:
            condition, parameter = _any(self._existing)
            cursor.execute(
                f"DELETE FROM {links} WHERE {link_book} {condition} AND {link_book} IN"
                f" (SELECT book_id FROM {STAGE} WHERE credits_changed AND NOT created)",
                [parameter],
            )
        cursor.execute(
            f"INSERT INTO {links} ({link_book}, {_column(BookAuthor, 'author')}, {_column(BookAuthor, 'role')},"
            f" {_column(BookAuthor, 'position')})"
            f" SELECT s.book_id, c.author_id, c.role, c.position FROM {CREDITS} c JOIN {STAGE} s ON s.isbn = c.isbn"
            " WHERE s.credits_changed ORDER BY s.seq, c.position"
        )
        genre_links, genre_book = _table(through), _column(through, "book")
        genre_bit = PRESENT_BITS["genres"]
        if self._existing:
            condition, parameter = _any(self._existing)
            cursor.execute(
                f"DELETE FROM {genre_links} WHERE {genre_book} {condition} AND {genre_book} IN"
                f" (SELECT book_id FROM {STAGE} WHERE genres_changed AND NOT created AND (present & {genre_bit}) <> 0)",
                [parameter],
            )
        cursor.execute(
            f"INSERT INTO {genre_links} ({genre_book}, {_column(through, 'genre')})"
            f" SELECT DISTINCT s.book_id, gn.{_q(Genre._meta.pk.column)} FROM {GENRES} g"
            f" JOIN {STAGE} s ON s.isbn = g.isbn JOIN {_table(Genre)} gn ON gn.{_column(Genre, 'slug')} = g.slug"
            " WHERE s.genres_changed"
        )
