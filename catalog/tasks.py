"""Catalog background tasks: thin wrappers over ``catalog.covers``; each is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from catalog import covers


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
