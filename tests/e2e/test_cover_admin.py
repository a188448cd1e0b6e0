"""Staff upload a cover in the admin with a real browser and see its preview once the thumbnails exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from playwright.sync_api import Page, expect

from catalog import covers
from catalog import tasks as catalog_tasks  # noqa: F401  (registers the thumbnail task)
from catalog.models import BookCover
from tests.catalog.covers import images
from tests.factories import BookFactory

pytestmark = pytest.mark.e2e


def _run_queued_thumbnail_tasks() -> list[str]:
    """What a worker would do with the tasks the live server sent to the in-memory broker."""
    done = []
    with current_app.connection_for_read() as connection:
        queue = connection.SimpleQueue(current_app.conf.task_default_queue)
        try:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    break
                message.ack()
                if message.headers.get("task") == covers.THUMBNAIL_TASK:
                    _, kwargs, _ = message.decode()
                    done.append(covers.thumbnails_make(**kwargs))
        finally:
            queue.close()
    return done


def test_a_cover_uploaded_on_the_change_page_shows_as_a_preview_and_in_the_list(
    page: Page, admin_login: Callable[[Any], Page], superuser: Any, artifacts: Path, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.ROOT_URLCONF = "tests.catalog.covers.media_urls"  # the media route `make run` has
    _run_queued_thumbnail_tasks()  # nothing left over from other tests
    book = BookFactory(title="The Dispossessed")
    upload = tmp_path / "scan.jpg"
    upload.write_bytes(images.jpeg((600, 900)))
    admin_login(superuser)

    page.goto(f"/admin/catalog/book/{book.pk}/change/")
    expect(page.locator(".field-cover_preview")).to_contain_text("No cover.")
    page.locator("#id_cover_image").set_input_files(str(upload))
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("The Dispossessed")
    expect(page.locator(".field-cover_preview")).to_contain_text("thumbnails are being made")

    assert _run_queued_thumbnail_tasks() == ["made"]
    page.reload()
    preview = page.locator(".field-cover_preview img")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 320
    page.screenshot(path=str(artifacts / "book-cover-preview.png"), full_page=True)

    page.goto("/admin/catalog/book/")
    thumbnail = page.locator("#result_list td.field-cover_thumbnail img, #result_list th.field-cover_thumbnail img")
    expect(thumbnail).to_have_count(1)
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 160
    assert BookCover.objects.get(book=book).is_ready
