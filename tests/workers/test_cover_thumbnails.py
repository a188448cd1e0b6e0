"""A real worker makes a cover's thumbnails: upload in one process (as a web request), the task through the broker."""

from __future__ import annotations

import base64

import pytest
from PIL import Image

from catalog.models import BookCover
from tests.catalog.covers import images
from tests.reliability.harness import django_exec
from tests.workers.harness import eventually

pytestmark = [pytest.mark.slow]

UPLOAD = """
import base64, io
from catalog.covers import cover_set
from catalog.models import Book
cover = cover_set(book=Book.objects.get(pk=params["book"]), upload=io.BytesIO(base64.b64decode(params["png"])))
result = {"original": cover.original}
"""


def test_a_worker_on_the_embedded_broker_makes_the_thumbnails_after_the_upload_commits(
    make_env, workers, customer_and_book, tmp_path
):
    _, book = customer_and_book
    media = tmp_path / "media"
    env = make_env(broker="filesystem://localhost//", queue="celery", MEDIA_ROOT=str(media))
    worker = workers(env)

    uploaded = django_exec(env, UPLOAD, book=book.pk, png=base64.b64encode(images.png((500, 750))).decode())

    cover = eventually(lambda: BookCover.objects.filter(book=book).exclude(large="").first(), message="thumbnails")
    assert cover.original == uploaded["original"]
    # The task's log line may reach the test (through the worker's output pipe) after its row is written.
    assert eventually(lambda: worker.saw("catalog.cover_thumbnails"), timeout=10, message="the task's log line")
    for name, width in ((cover.small, 160), (cover.medium, 320), (cover.large, 640)):
        with Image.open(media / name) as thumbnail:
            assert (thumbnail.format, thumbnail.size) == ("WEBP", (width, width * 3 // 2))
