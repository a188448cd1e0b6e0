"""Catalog background jobs: thin wrappers over ``catalog.services`` and ``catalog.covers``; each is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from catalog import covers, imports, search, services

logger = logging.getLogger(__name__)
# A database hiccup retries the job with exponential backoff (jittered, at most 10 min apart).
RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(name="catalog.back_in_stock_notify", acks_late=True, **RETRY)
def back_in_stock_notify(book_ids: list[int]) -> int:
    """Queue the back-in-stock emails of ``book_ids``' waiting subscribers (started after a restock commits)."""
    return services.back_in_stock_notify(book_ids=book_ids)


@shared_task(name="catalog.back_in_stock_sweep", acks_late=True, **RETRY)
def back_in_stock_sweep() -> int:
    """Queue the emails a lost task left undone: every waiting subscriber of a book in stock."""
    sent = services.back_in_stock_notify(book_ids=None)
    if sent:
        logger.info("back-in-stock sweep: %s email(s) queued", sent)
    return sent


@shared_task(name="catalog.book_release_due", acks_late=True, **RETRY)
def book_release_due() -> int:
    """Make forthcoming books whose release date has come active."""
    released = services.book_release_due()
    if released:
        logger.info("book release: %s book(s) now active", released)
    return released


@shared_task(
    name=covers.THUMBNAIL_TASK,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def cover_thumbnails(book_id: int, original: str) -> str:
    """Make the WebP thumbnails of a book's newly uploaded cover (``made``, ``done`` or ``stale``)."""
    return covers.thumbnails_make(book_id=book_id, original=original)


@shared_task(name="catalog.cover_sweep", acks_late=True, max_retries=0)
def cover_sweep() -> int:
    """Periodic: queue the thumbnail task again for covers still without thumbnails (a lost message)."""
    pending = covers.thumbnails_pending()
    for book_id, original in pending:
        covers.thumbnails_dispatch(book_id=book_id, original=original)
    return len(pending)


@shared_task(name=imports.IMPORT_TASK, acks_late=True, max_retries=0)
def import_job_run(job_id: int) -> str:
    """The dry run or the import of an admin upload (``catalog.imports``); a job is claimed once."""
    return imports.import_job_run(job_id=job_id)


@shared_task(name="catalog.import_files_expire", acks_late=True, **RETRY)
def import_files_expire() -> int:
    """Uploaded import files past ``IMPORT_FILES_KEEP_DAYS`` are deleted (the jobs and reports stay)."""
    return imports.import_files_expire()


@shared_task(name="catalog.search_misses_flush", acks_late=True, **RETRY)
def search_misses_flush() -> int:
    """Periodic: move the zero-result search counts waiting in Redis into the admin's list."""
    return search.search_misses_flush()
