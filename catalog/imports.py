"""Imports from the admin: an uploaded book file, its dry run, its import in the background and the report.

The same files and rules as ``manage.py import_books`` (``catalog.importing``
reads and validates, ``catalog.bulk.books_upsert`` writes), run as an
``ImportJob``:

1. ``import_job_create`` refuses a file that is too large or is not what its
   name says (sniffed from its first bytes), stores it in the ``imports``
   storage under a random name and queues the dry run.
2. The dry run (``import_plan``) reads the whole file and compares every
   valid row with the stored book of its ISBN, read-only: new books, updated
   books with the fields that would change, unchanged books, and every
   rejected row with its line number (ONIX: record reference and ISBN).
3. ``import_job_confirm`` queues the import; the worker writes the new and
   changed books in batches, each in its own transaction (an upsert by ISBN,
   so running a file again is harmless), attributed to the staff user who
   uploaded it (stock movements and the admin history). Rows the dry run
   rejected are skipped.

Both phases refresh the job's progress and heartbeat as they read; a job
whose heartbeat is older than ``settings.IMPORT_STALE_SECONDS`` is marked
failed (its worker was stopped) and may be run again.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from itertools import islice
from typing import IO, Any

from celery import current_app
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import Storage, default_storage, storages
from django.db import transaction
from django.utils import timezone

from accounts.access import staff_has_perm
from bookstore.exceptions import DomainError
from catalog import services
from catalog.bulk import books_upsert
from catalog.fields import AUTHOR_ROLE, BOOK_COLUMN_FIELDS, BOOK_FIELD_NAMES, REQUIRED_FIELDS, Credit
from catalog.importing import (
    BookRow,
    ImportFormatError,
    RowError,
    RowNotice,
    book_record,
    read_books,
    validate_record,
)
from catalog.importing.records import format_for_path
from catalog.ledger import StockNote
from catalog.models import Book, BookAuthor, ImportJob, StockMovement

logger = logging.getLogger(__name__)

IMPORT_TASK = "catalog.import_job_run"
CHUNK_BYTES = 1 << 16
BATCH_SIZE = 500
#: Changes, errors and notes kept for the page (the counts are always complete).
MAX_LISTED = 500
#: The heartbeat is written at most this often (seconds), and at every batch.
BEAT_INTERVAL = 0.5
#: First bytes looked at to tell what a file really is.
SNIFF_BYTES = 1 << 16
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "onix": "xml"}

Status = ImportJob.Status
#: Phases in which a worker must show signs of life.
ACTIVE = (Status.CHECKING, Status.RUNNING)
#: Fields a row always sets (the others only when its file carries the column); credits are compared on their own.
_ALWAYS_SET = REQUIRED_FIELDS - {"isbn", "authors"}
_CREDIT_FIELDS = frozenset({"authors", "contributors"})

_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive (a spreadsheet such as .xlsx?)",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Office document (.xls?)",
}


class ImportFileRefused(DomainError):
    """The uploaded file is refused before anything is stored: too large, empty, or not the format it claims."""


class _Abandoned(Exception):
    """The job is no longer this worker's (it was marked failed as stale meanwhile): stop quietly."""


# --- storage and the uploaded file ----------------------------------------------------------------


def imports_storage() -> Storage:
    """Where uploaded files are kept: the ``imports`` storage (never served), else the default one."""
    return storages["imports"] if "imports" in settings.STORAGES else default_storage


def upload_format(*, name: str, head: bytes, size: int) -> str:
    """The import format of an upload named ``name`` that starts with ``head``; ``ImportFileRefused`` if wrong."""
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise ImportFileRefused(f"The file is {size:,} bytes; the limit is {limit:,} bytes. Split it into parts.")
    try:
        fmt = format_for_path(name)
    except ImportFormatError as exc:
        raise ImportFileRefused(
            "The file name must end in .csv, .jsonl (or .ndjson) or .xml (or .onix, ONIX 3.0)."
        ) from exc
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise ImportFileRefused("The file is empty.")
    for signature, what in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raise ImportFileRefused(f"The file is {what}, not a {fmt.upper()} text file.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise ImportFileRefused("The file is not UTF-8 text (binary, or UTF-16). Save it as UTF-8 and upload it again.")
    looks_like_xml = text.startswith(b"<")
    if fmt == "onix" and not looks_like_xml:
        raise ImportFileRefused("The file is named as ONIX (.xml) but is not XML.")
    if fmt != "onix" and looks_like_xml:
        raise ImportFileRefused(f"The file is XML or HTML, not {fmt.upper()}; an ONIX feed must be named .xml.")
    if fmt == "jsonl" and not text.startswith(b"{"):
        raise ImportFileRefused("The file is not JSON Lines: each line holds one JSON object, starting with '{'.")
    return fmt


def import_job_create(*, upload: IO[bytes], name: str, size: int, by: Any) -> ImportJob:
    """Check and store an uploaded book file as a new job, and queue its dry run (after the commit)."""
    head = upload.read(SNIFF_BYTES)
    fmt = upload_format(name=name, head=head, size=size)
    upload.seek(0)
    stored = imports_storage().save(f"{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{EXTENSIONS[fmt]}", upload)
    job = ImportJob.objects.create(
        created_by=by,
        file=stored,
        original_name=os.path.basename(name)[:255] or f"upload.{EXTENSIONS[fmt]}",
        format=fmt,
        size=size,
        status=Status.CHECKING,
    )
    transaction.on_commit(lambda: _dispatch(job.pk), robust=True)
    return job


def _dispatch(job_id: int) -> None:
    try:
        current_app.send_task(IMPORT_TASK, kwargs={"job_id": job_id})
    except Exception:  # the broker is down: the job says so and may be queued again
        logger.exception("import job %s could not be queued", job_id)
        ImportJob.objects.filter(pk=job_id, status__in=(Status.CHECKING, Status.QUEUED)).update(
            status=Status.FAILED,
            can_retry=True,
            message="The background queue could not be reached; nothing was done. Try again in a moment.",
            finished_at=timezone.now(),
        )


def import_job_confirm(*, job: ImportJob, by: Any = None) -> bool:
    """Queue the import of a checked job (or run a failed one again); false if the job is not in such a state.

    ``by``: the staff user who starts it, in whose name the books are written (default: who uploaded the file).
    """
    if job.status == Status.PLANNED:
        claimable = ImportJob.objects.filter(pk=job.pk, status=Status.PLANNED)
    elif job.status == Status.FAILED and job.can_retry:
        claimable = ImportJob.objects.filter(pk=job.pk, status=Status.FAILED, can_retry=True)
    else:
        return False
    # A job that failed before its dry run finished is checked again; otherwise it is imported.
    status = Status.QUEUED if job.plan else Status.CHECKING
    started_by = by if by is not None and getattr(by, "pk", None) else job.created_by
    # Checked again in the claim itself: the job may have changed since it was read (its file expired).
    claimed = claimable.exclude(file="").update(
        status=status,
        started_by=started_by,
        message="",
        can_retry=False,
        heartbeat_at=None,
        progress_bytes=0,
        rows_read=0,
        finished_at=None,
    )
    if claimed:
        transaction.on_commit(lambda: _dispatch(job.pk), robust=True)
    return bool(claimed)


def imports_mark_stale(*, now: Any = None) -> int:
    """Mark failed the jobs whose worker stopped showing signs of life (killed mid-way); how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    stale = ImportJob.objects.filter(status__in=ACTIVE, heartbeat_at__lt=cutoff)
    if not stale.exists():  # the usual answer, read without taking a write lock (SQLite) on every poll
        return 0
    return stale.update(
        status=Status.FAILED,
        can_retry=True,
        finished_at=now,
        message=(
            "The job stopped without finishing: its worker gave no sign of life for "
            f"{settings.IMPORT_STALE_SECONDS} s (stopped or killed). Batches already imported stay imported; "
            "running it again is safe (books are matched by ISBN)."
        ),
    )


def import_files_expire(*, now: Any = None) -> int:
    """Delete the uploaded files of jobs older than ``settings.IMPORT_FILES_KEEP_DAYS``; how many files.

    The jobs themselves stay (their dry run, report and the admin history). A
    finished job loses its file and, if it had failed, its retry; a job checked
    but never confirmed in that time is closed as failed, since it can no longer
    be imported. Jobs being checked, queued or imported keep their files.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IMPORT_FILES_KEEP_DAYS)
    expired = (
        ImportJob.objects.filter(created_at__lt=cutoff).exclude(file="").exclude(status__in=(*ACTIVE, Status.QUEUED))
    )
    storage = imports_storage()
    removed = 0
    for job in expired.only("pk", "file", "status").iterator():
        fields: dict[str, Any] = {"file": "", "can_retry": False}
        if job.status == Status.PLANNED:
            fields.update(
                status=Status.FAILED,
                finished_at=now,
                message=(
                    f"Not confirmed within {settings.IMPORT_FILES_KEEP_DAYS} days: the uploaded file was removed. "
                    "Upload it again to import it."
                ),
            )
        # The job lets go of its file first, and only if it is still where it was read: a job confirmed (or
        # retried) in between keeps its file, and once released no confirmation can claim it.
        if ImportJob.objects.filter(pk=job.pk, status=job.status, file=job.file).update(**fields):
            storage.delete(job.file)  # a file already gone is no error
            removed += 1
    return removed


# --- reading with progress -----------------------------------------------------------------------


class _Progress:
    """Counts the bytes read and writes the job's progress and heartbeat, at most every ``BEAT_INTERVAL``."""

    def __init__(self, job_id: int | None = None, status: str = "") -> None:
        self.job_id = job_id
        self.status = status
        self.bytes = 0
        self.rows = 0
        self._beaten = 0.0

    def chunks(self, file: IO[bytes]) -> Iterator[bytes]:
        while chunk := file.read(CHUNK_BYTES):
            self.bytes += len(chunk)
            yield chunk

    def beat(self, *, force: bool = False, **fields: Any) -> None:
        if self.job_id is None or (not force and time.monotonic() - self._beaten < BEAT_INTERVAL):
            return
        self._beaten = time.monotonic()
        alive = ImportJob.objects.filter(pk=self.job_id, status=self.status).update(
            progress_bytes=self.bytes, rows_read=self.rows, heartbeat_at=timezone.now(), **fields
        )
        if not alive:
            raise _Abandoned


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Physical lines (ending in ``\\n``) of a stream of chunks, as ``import_books`` reads a file; linear time."""
    tail: list[bytes] = []
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            tail.append(chunk[start : end + 1])
            yield b"".join(tail)
            tail = []
            start = end + 1
        if start < len(chunk):
            tail.append(chunk[start:])
    if tail:
        yield b"".join(tail)


def _error_entry(error: RowError | RowNotice) -> dict[str, Any]:
    return {"line": error.line, "record": error.record, "isbn": error.isbn, "reason": error.reason}


def _rows(file: IO[bytes], *, fmt: str, progress: _Progress, counts: dict[str, Any]) -> Iterator[BookRow]:
    """The valid rows of the file; rejected rows and notes are counted and listed in ``counts``."""

    def notice(found: RowNotice) -> None:
        counts["noticed"] += 1
        if len(counts["notices"]) < MAX_LISTED:
            counts["notices"].append(_error_entry(found))

    chunks = progress.chunks(file)
    raw = chunks if fmt == "onix" else _lines(chunks)
    for row in read_books(raw, fmt=fmt, currency=settings.STORE_CURRENCY, on_notice=notice):  # type: ignore[arg-type]
        progress.rows += 1
        progress.beat()
        if isinstance(row, RowError):
            counts["rejected"] += 1
            if len(counts["errors"]) < MAX_LISTED:
                counts["errors"].append(_error_entry(row))
            continue
        yield row


def _batches(rows: Iterable[BookRow], size: int) -> Iterator[list[BookRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# --- the comparison with the catalog (read-only) -----------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return "; ".join(_shown(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _credits_shown(credits: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{name} ({role})" for name, role in credits)


def _stored_rows(isbns: Sequence[str]) -> dict[str, BookRow | None]:
    """The stored books among ``isbns`` as the import reads them (their export record, validated); ``None``
    for a stored book that does not meet today's import rules.

    Three queries of plain values whatever the number of books (the export's
    model instances cost ten times as much on a large file).
    """
    books = {
        values.pop("pk"): values
        for values in Book.objects.filter(isbn__in=isbns).values("pk", "series__name", *BOOK_COLUMN_FIELDS)
    }
    if not books:
        return {}
    credits: dict[int, list[Credit]] = {pk: [] for pk in books}
    for book_id, name, role in (
        BookAuthor.objects.filter(book_id__in=books)
        .order_by("book_id", "position", "pk")
        .values_list("book_id", "author__name", "role")
    ):
        credits[book_id].append(Credit(name, role))
    genres: dict[int, list[str]] = {pk: [] for pk in books}
    for book_id, slug in (
        Book.genres.through.objects.filter(book_id__in=books)
        .order_by("book_id", "genre__slug")
        .values_list("book_id", "genre__slug")
    ):
        genres[book_id].append(slug)
    stored: dict[str, BookRow | None] = {}
    for pk, values in books.items():
        series = values.pop("series__name")
        record = book_record(
            authors=[credit.name for credit in credits[pk] if credit.role == AUTHOR_ROLE],
            contributors=credits[pk],
            genres=genres[pk],
            series=series,
            **values,
        )
        row = validate_record(0, record)
        stored[record["isbn"]] = row if isinstance(row, BookRow) else None
    return stored


def changed_fields(stored: BookRow | None, row: BookRow) -> dict[str, tuple[str, str]]:
    """What importing ``row`` would change on the stored book: {field: (now, after)}, as text."""
    if stored is None:
        return {"(stored book)": ("does not meet the import rules", "replaced by the file's values")}
    changes: dict[str, tuple[str, str]] = {}
    for name in BOOK_FIELD_NAMES:
        if name == "isbn" or name in _CREDIT_FIELDS or (name not in _ALWAYS_SET and name not in row.present):
            continue
        before, after = stored.values[name], row.values[name]
        if before != after:
            changes[name] = (_shown(before), _shown(after))
    before_credits, after_credits = services.row_credits(stored), services.row_credits(row)
    if before_credits != after_credits:
        changes["contributors"] = (_credits_shown(before_credits), _credits_shown(after_credits))
    return changes


def _compare(batch: Sequence[BookRow]) -> list[tuple[BookRow, bool, dict[str, tuple[str, str]]]]:
    """Each row with whether its book is new and what it would change (empty: unchanged)."""
    stored = _stored_rows([row.isbn for row in batch])
    return [
        (row, row.isbn not in stored, {} if row.isbn not in stored else changed_fields(stored[row.isbn], row))
        for row in batch
    ]


def _empty_counts() -> dict[str, Any]:
    return {
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "noticed": 0,
        "fields": {},
        "changes": [],
        "additions": [],
        "errors": [],
        "notices": [],
    }


def _count_change(counts: dict[str, Any], row: BookRow, new: bool, changes: dict[str, tuple[str, str]]) -> None:
    kind = "new" if new else "updated" if changes else "unchanged"
    counts[kind] += 1
    for name in changes:
        counts["fields"][name] = counts["fields"].get(name, 0) + 1
    listed = counts["changes"] if kind == "updated" else counts["additions"] if kind == "new" else None
    if listed is not None and len(listed) < MAX_LISTED:
        listed.append({"line": row.line, "isbn": row.isbn, "title": row.title, "kind": kind, "fields": changes})


def import_plan(*, file: IO[bytes], fmt: str, progress: _Progress | None = None) -> dict[str, Any]:
    """The dry run of a book file: what importing it would change, computed read-only.

    Returns the counts of new, updated and unchanged books and of rejected
    rows and notes, how many books each field would change on, and the first
    ``MAX_LISTED`` updated books (``changes``, with each field's value now and
    after), new books (``additions``), errors and notes. Raises ``ImportFormatError`` for a file that cannot be read.
    """
    counts = _empty_counts()
    progress = progress or _Progress()
    for batch in _batches(_rows(file, fmt=fmt, progress=progress, counts=counts), BATCH_SIZE):
        for row, new, changes in _compare(batch):
            _count_change(counts, row, new, changes)
        progress.beat(force=True)
    return counts


# --- the import ----------------------------------------------------------------------------------------


def _history_record(*, job: ImportJob, entries: Sequence[tuple[int, str, bool, Iterable[str]]]) -> None:
    """The admin history of each written book: who imported it, from which job, and what changed."""
    user_id = job.started_by_id or job.created_by_id
    if user_id is None or not entries:
        return
    content_type = ContentType.objects.get_for_model(Book)
    source = f"import #{job.pk} ({job.original_name})"
    LogEntry.objects.bulk_create(
        LogEntry(
            user_id=user_id,
            content_type=content_type,
            object_id=str(book_id),
            object_repr=title[:200],
            action_flag=ADDITION if new else CHANGE,
            change_message=f"Created by {source}." if new else f"Changed by {source}: {', '.join(fields)}.",
        )
        for book_id, title, new, fields in entries
    )


def _import(job: ImportJob, file: IO[bytes], progress: _Progress) -> dict[str, Any]:
    """Write the file's new and changed books batch by batch (one transaction each); the report."""
    counts = _empty_counts()
    note = StockNote(
        kind=StockMovement.Kind.IMPORT,
        by=job.started_by or job.created_by,
        reason=f"Import of {job.original_name}"[:255],
        reference=f"import-{job.pk}",
    )
    for batch in _batches(_rows(file, fmt=job.format, progress=progress, counts=counts), BATCH_SIZE):
        compared = _compare(batch)
        writes = [(row, new, changes) for row, new, changes in compared if new or changes]
        if writes:
            try:
                with transaction.atomic():
                    # The job writes its own, richer history (every changed field, the job and its file).
                    result = books_upsert(rows=[row for row, _, _ in writes], note=note, history=False)
                    _history_record(
                        job=job,
                        entries=[
                            (book_id, row.title, new, changes)
                            for book_id, (row, new, changes) in zip(result.book_ids, writes, strict=True)
                        ],
                    )
            except DomainError as exc:  # a rule the batch broke meanwhile (another path wrote its books)
                counts["rejected"] += len(writes)
                counts["errors"].append(
                    {"line": writes[0][0].line, "record": "", "isbn": "", "reason": f"batch not written: {exc}"}
                )
                compared = [item for item in compared if item not in writes]
        for row, new, changes in compared:
            _count_change(counts, row, new, changes)
        progress.beat(force=True, report=_report(counts, lists=False))
    return counts


def _report(counts: dict[str, Any], *, lists: bool = True) -> dict[str, Any]:
    """The import's report; ``lists``: with the changes, errors and notes (the counts alone while it runs)."""
    report = {
        "created": counts["new"],
        "updated": counts["updated"],
        "unchanged": counts["unchanged"],
        "rejected": counts["rejected"],
        "noticed": counts["noticed"],
        "fields": counts["fields"],
        "changes": counts["changes"],
        "additions": counts["additions"],
        "errors": counts["errors"],
        "notices": counts["notices"],
    }
    return report if lists else {key: value for key, value in report.items() if isinstance(value, int)}


def import_job_run(*, job_id: int) -> str:
    """The background task: the dry run of a ``checking`` job, or the import of a ``queued`` one.

    A job is claimed once (a message delivered twice does nothing the second
    time); what it finds is saved on the job, which ends ``planned``,
    ``done`` or ``failed``. Returns what happened.
    """
    now = timezone.now()
    if ImportJob.objects.filter(pk=job_id, status=Status.CHECKING, heartbeat_at__isnull=True).update(
        heartbeat_at=now, started_at=now
    ):
        phase = Status.CHECKING
    elif ImportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, heartbeat_at=now, started_at=now, progress_bytes=0, rows_read=0
    ):
        phase = Status.RUNNING
    else:
        return "skipped"
    job = ImportJob.objects.select_related("created_by", "started_by").get(pk=job_id)
    progress = _Progress(job.pk, phase)
    fields: dict[str, Any]
    try:
        with imports_storage().open(job.file, "rb") as file:
            if phase == Status.CHECKING:
                plan = import_plan(file=file, fmt=job.format, progress=progress)
                outcome, fields = Status.PLANNED, {"plan": plan}
            else:
                outcome, fields = Status.DONE, {"report": _report(_import(job, file, progress))}
    except _Abandoned:
        return "abandoned"
    except ImportFormatError as exc:
        outcome, fields = Status.FAILED, {"message": f"The file cannot be read: {exc}", "can_retry": False}
    except Exception as exc:
        logger.exception("import job %s failed", job_id)
        outcome = Status.FAILED
        fields = {
            "message": f"The job stopped on an unexpected error ({type(exc).__name__}) after {progress.rows:,} "
            "rows. Batches already imported stay imported; running it again is safe.",
            "can_retry": True,
        }
    ImportJob.objects.filter(pk=job_id, status=phase).update(
        status=outcome,
        progress_bytes=job.size if outcome != Status.FAILED else progress.bytes,
        rows_read=progress.rows,
        heartbeat_at=timezone.now(),
        finished_at=timezone.now(),
        **fields,
    )
    return str(outcome)


def import_job_status(job: ImportJob) -> dict[str, Any]:
    """The small JSON the job page polls for its progress bar."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "percent": job.percent,
        "rows": job.rows_read,
        "bytes": job.progress_bytes,
        "size": job.size,
        "active": job.status in (Status.CHECKING, Status.QUEUED, Status.RUNNING),
        "created": job.report.get("created", 0),
        "updated": job.report.get("updated", 0),
        "rejected": job.report.get("rejected", job.plan.get("rejected", 0)),
        "message": job.message,
    }


def may_import(user: Any) -> bool:
    """Active staff who may add and change books (catalog managers, superusers)."""
    return staff_has_perm(user, "catalog.add_book") and staff_has_perm(user, "catalog.change_book")
