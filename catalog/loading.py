# ruff: noqa: S608  (every statement is built from table and constraint names read from PostgreSQL's catalog)
"""A large import into an empty catalog, loaded as PostgreSQL's manual advises ("Populating a Database").

Filling empty tables row by row keeps every secondary index up to date and
checks every foreign key per row: for 100,000 books, 14 indexes on ``books``,
the search index's GIN entries and about ten key checks per book. Built once
after the load, the same indexes and checks cost a fraction of that. So when
an import's first batch is large (``MIN_ROWS``) and ``books`` is empty, the
tables an import fills (``FILLED``, those still empty) lose, inside the
import's transaction:

- their secondary indexes (not the primary keys, nor any unique index or
  constraint: the merge's ``ON CONFLICT`` and the ISBN's uniqueness need them);
- their foreign keys to the catalog's tables (``REFERENCED``); keys to other
  tables (users, content types) stay and are checked as before;

and get them back, with the definitions PostgreSQL printed for them
(``pg_get_indexdef``, ``pg_get_constraintdef``), before the commit: each
index built in one pass, each key checked by one query. DDL is transactional,
so nobody ever sees the tables without them, and an import that fails rolls
the drops back with its rows. The price is an exclusive lock on those tables
until the commit: the catalog's pages wait for the import, which is why this
is done only for a catalog that is empty, where they have nothing to show.

Tables that were empty have no statistics, and autovacuum cannot analyze rows
that are not committed: the planner would go on taking them for small (a
sequential scan of ``books`` for each batch's ISBNs, the search documents of
a million books built by one process). So the load analyzes them itself
(``merged``): after its first batch, then each time they have grown tenfold,
and once more before the search entries are rebuilt (``analyze``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from catalog.models import Author, Book, BookAuthor, BookSearchEntry, Genre, Series, StockMovement, Work

#: Rows in an import's first batch from which an empty catalog is loaded without its indexes and keys.
MIN_ROWS = 10_000
#: PostgreSQL's ``maintenance_work_mem`` for the rebuilds (``SET LOCAL``: nothing outlives the transaction).
MAINTENANCE_WORK_MEM = "256MB"

#: The tables an import fills, in the order their locks are taken; each is loaded bare only if empty.
FILLED = tuple(
    model._meta.db_table for model in (Work, Book, BookAuthor, Book.genres.through, BookSearchEntry, StockMovement)
)
#: The tables whose foreign keys from ``FILLED`` are dropped for the load.
REFERENCED = (*FILLED, *(model._meta.db_table for model in (Author, Genre, Series)))
#: The tables the load's statements read, analyzed as they grow (``EmptyCatalogLoad.merged``).
ANALYZED = tuple(model._meta.db_table for model in (Book, BookAuthor, Book.genres.through, Author, Genre, Series))
#: A bare load's tables are analyzed again once they hold this many times the rows of their last analysis.
ANALYZE_GROWTH = 10


@dataclass
class EmptyCatalogLoad:
    """What a load into an empty catalog dropped (``start``), to re-create it (``finish``)."""

    using: str = DEFAULT_DB_ALIAS
    decided: bool = False
    indexes: list[str] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    #: Rows merged so far by a bare load, and how many there were at its last ``analyze``.
    loaded: int = 0
    analyzed: int = 0

    @property
    def bare(self) -> bool:
        """True while the filled tables are without their indexes and keys."""
        return bool(self.indexes or self.keys)

    def start(self, rows: int) -> None:
        """Decide once, before the first batch of ``rows`` is written: drop the indexes and keys, or not."""
        if self.decided:
            return
        self.decided = True
        connection = connections[self.using]
        if rows < MIN_ROWS or connection.vendor != "postgresql":
            return
        if Book.objects.using(self.using).exists():
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {', '.join(quote(table) for table in FILLED)} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(f"SELECT ARRAY[{', '.join(f'EXISTS (SELECT 1 FROM {quote(table)})' for table in FILLED)}]")
            filled = [table for table, rows_in in zip(FILLED, cursor.fetchone()[0], strict=True) if not rows_in]
            if Book._meta.db_table not in filled:
                return  # a book came in before the lock: an ordinary import
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
                " ORDER BY i.indexrelid",
                [filled],
            )
            dropped_indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) AND confrelid = ANY(%s::regclass[])"
                " ORDER BY oid",
                [filled, list(REFERENCED)],
            )
            self.keys = cursor.fetchall()
            # PostgreSQL alters no table with deferred checks pending: those queued so far (a deletion earlier
            # in the transaction) run now, and those of the keys that stay, queued while the tables load,
            # run in ``finish`` (they would all run at the commit anyway).
            cursor.execute(
                "SELECT conname, contype = 'f' AND conrelid = ANY(%s::regclass[]) AND confrelid = ANY(%s::regclass[])"
                " FROM pg_constraint WHERE condeferrable AND condeferred"
                " AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[]))",
                [filled, list(REFERENCED), filled, filled],
            )
            touching = cursor.fetchall()
            self.deferred = sorted({name for name, dropped in touching if not dropped})
            deferred_checks_run(cursor, [name for name, _ in touching], quote)
            for table, name, _definition in self.keys:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
            for name, _definition in dropped_indexes:
                cursor.execute(f"DROP INDEX {name}")
            self.indexes = [definition for _name, definition in dropped_indexes]

    def merged(self, rows: int) -> None:
        """After each batch of a bare load (``rows``): the tables analyzed after the first, then at every tenfold growth."""
        self.loaded += rows
        if self.bare and self.loaded >= ANALYZE_GROWTH * self.analyzed:
            self.analyze()

    def analyze(self) -> None:
        """Statistics of a bare load's tables for the planner of what follows, unless nothing was merged since the last."""
        if not self.bare or self.loaded == self.analyzed:
            return
        quote = connections[self.using].ops.quote_name
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(quote(table) for table in ANALYZED)}")
        self.analyzed = self.loaded

    def finish(self) -> None:
        """Re-create what ``start`` dropped: every index built in one pass, every key checked in one query."""
        if not self.bare:
            return
        quote = connections[self.using].ops.quote_name
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
            deferred_checks_run(cursor, self.deferred, quote)
            for definition in self.indexes:
                cursor.execute(definition)
            for table, name, definition in self.keys:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
        self.indexes, self.keys = [], []


def deferred_checks_run(cursor: Any, names: Sequence[str], quote: Callable[[str], str]) -> None:
    """Run the pending checks of the deferred constraints ``names`` now; they stay deferred for what follows."""
    if names:
        listed = ", ".join(quote(name) for name in sorted(set(names)))
        cursor.execute(f"SET CONSTRAINTS {listed} IMMEDIATE")
        cursor.execute(f"SET CONSTRAINTS {listed} DEFERRED")


@contextmanager
def empty_catalog_load(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[EmptyCatalogLoad]:
    """Inside an import's transaction: ``load.start(rows)`` before its first batch; re-created on leaving.

    If the block or the re-creation raises, the transaction is marked for
    rollback, so it cannot commit the tables without their indexes and keys,
    even if the caller catches the exception inside its ``atomic``.
    """
    if not connections[using].in_atomic_block:
        raise RuntimeError("an empty catalog is loaded inside the import's transaction")
    load = EmptyCatalogLoad(using=using)
    try:
        yield load
        load.finish()
    except BaseException:
        if load.bare:
            transaction.set_rollback(True, using=using)
        raise
