"""The demo store's drawn covers: title and author on varied colours, only when asked for."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import call_command
from PIL import Image

from catalog.covers import demo_cover_png, storage
from catalog.models import BookCover

pytestmark = pytest.mark.django_db


def test_seed_demo_draws_covers_for_the_first_books_and_the_worker_makes_their_thumbnails(
    django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", books=12, orders=0, covers=5, stdout=StringIO())

    drawn = list(BookCover.objects.select_related("book").order_by("book__title", "book_id"))
    assert len(drawn) == 5
    assert run_thumbnail_tasks() == ["made"] * 5
    corners = set()
    for cover in drawn:
        with storage().open(cover.original) as handle, Image.open(handle) as image:
            assert image.size == (400, 600)
            corners.add(image.convert("RGB").getpixel((5, 5)))
    assert len(corners) > 1  # not one colour for all
    assert all(BookCover.objects.get(pk=cover.pk).is_ready for cover in drawn)


def test_seed_demo_draws_no_covers_unless_asked():
    call_command("seed_demo", books=12, orders=0, stdout=StringIO())
    assert not BookCover.objects.exists()


def test_a_drawn_cover_shows_its_title_in_ink():
    plain = demo_cover_png(title="", author="", seed=3)
    titled = demo_cover_png(title="The Dispossessed", author="Ursula K. Le Guin", seed=3)
    with Image.open(io.BytesIO(plain)) as empty, Image.open(io.BytesIO(titled)) as cover:
        box = (30, 60, 370, 130)  # where the title goes
        assert empty.crop(box).getcolors() != cover.crop(box).getcolors()
