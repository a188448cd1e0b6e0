"""PUT/DELETE /api/v1/books/{id}/cover and the ``cover`` of the book representation (filesystem storage)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from catalog import covers, services
from catalog.models import BookCover
from tests.catalog.covers import images
from tests.catalog.covers.conftest import stored_files
from tests.factories import AuthorFactory, BookFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def put_cover(client: APIClient, book_id: int, data: bytes, name: str = "cover.png", **extra: Any) -> Any:
    upload = SimpleUploadedFile(name, data, content_type=extra.pop("content_type", "image/png"))
    return client.put(f"/api/v1/books/{book_id}/cover", {"image": upload}, format="multipart", **extra)


@pytest.fixture
def book() -> Any:
    return BookFactory(title="Dune", authors=[AuthorFactory(name="Frank Herbert")])


def test_a_png_uploaded_through_the_api_comes_back_as_three_webp_sizes(
    staff_client, api_client, book, media_root, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = put_cover(staff_client, book.pk, images.png((600, 900)), name="../../etc/passwd.png")

    assert response.status_code == 202, response.content
    assert response.json()["id"] == book.pk
    assert response.json()["cover"] is None  # the thumbnails are not made yet
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["cover"] is None
    original = BookCover.objects.get(book=book).original
    assert original.startswith("covers/")
    assert original.endswith("/original.png")
    assert "passwd" not in original  # the client's file name is never used

    assert run_thumbnail_tasks() == ["made"]

    cover = api_client.get(f"/api/v1/books/{book.pk}").json()["cover"]
    assert set(cover) == {"small", "medium", "large"}
    for size, width in (("small", 160), ("medium", 320), ("large", 640)):
        url = cover[size]
        assert url.startswith("http://testserver/media/covers/")
        assert url.endswith(f"/{width}.webp")
        path = media_root / url.removeprefix("http://testserver/media/")
        with Image.open(path) as thumbnail:
            assert thumbnail.format == "WEBP"
            assert thumbnail.size == (width, width * 3 // 2)
    listed = api_client.get("/api/v1/books").json()["results"][0]
    assert listed["cover"] == cover
    assert len(stored_files(media_root)) == 4  # the original and three thumbnails, nothing else


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (lambda: b"MZ\x90\x00 not an image", "cover.png", "image/png"),  # lies about its type
        (lambda: b"<html><script>alert(1)</script></html>", "cover.html", "text/html"),
        (lambda: images.zip_archive(), "cover.jpg", "image/jpeg"),
        (lambda: images.gif(), "cover.gif", "image/gif"),
        (lambda: images.png() + images.zip_archive(), "cover.png", "image/png"),  # polyglot: PNG + JAR
        (lambda: images.jpeg() + b"<?php system($_GET['c']); ?>", "cover.jpg", "image/jpeg"),  # polyglot: JPEG + script
        (lambda: images.gif() + images.zip_archive(), "cover.gif", "image/gif"),  # GIFAR
        (lambda: images.png((7000, 6000)), "cover.png", "image/png"),  # 42 megapixels
        (lambda: images.png_header_only(100_000, 100_000), "bomb.png", "image/png"),  # decompression bomb
        (lambda: images.noise_png(2200, 1700), "big.png", "image/png"),  # over 10 MB
    ],
    ids=["exe", "html", "zip", "gif", "png+jar", "jpeg+php", "gifar", "42-megapixels", "bomb", "over-10-mb"],
)
def test_refused_uploads_are_400_naming_image_and_nothing_is_stored(
    staff_client, api_client, book, media_root, django_capture_on_commit_callbacks, data, name, content_type
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = put_cover(staff_client, book.pk, data(), name=name, content_type=content_type)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["image"]
    assert not BookCover.objects.exists()
    assert stored_files(media_root) == []
    assert callbacks == []
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["cover"] is None


def test_an_over_10_mb_upload_really_is_over_10_mb():
    assert len(images.noise_png(2200, 1700)) > covers.MAX_BYTES


@pytest.mark.parametrize(
    "body",
    [{}, {"image": ""}, {"image": "not a file"}, {"picture": SimpleUploadedFile("c.png", images.png())}],
    ids=["nothing", "blank", "text", "other-field"],
)
def test_a_missing_image_is_400_naming_image(staff_client, book, body, media_root):
    response = staff_client.put(f"/api/v1/books/{book.pk}/cover", body, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["image"]
    assert stored_files(media_root) == []


def test_a_json_body_is_415(staff_client, book):
    response = staff_client.put(f"/api/v1/books/{book.pk}/cover", {"image": "x"}, format="json")
    assert response.status_code == 415


def test_a_body_over_the_upload_limit_is_413_before_it_is_read(staff_client, book, settings):
    settings.MAX_UPLOAD_REQUEST_BYTES = 50_000
    response = put_cover(staff_client, book.pk, images.noise_png(200, 200))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_an_upload_over_the_ordinary_body_limit_is_accepted_on_the_cover_route(
    staff_client, book, settings, media_root
):
    settings.MAX_REQUEST_BYTES = 10_000
    data = images.noise_png(300, 450)
    assert len(data) > 10_000
    assert put_cover(staff_client, book.pk, data).status_code == 202
    assert staff_client.patch(f"/api/v1/books/{book.pk}", {"description": "x" * 20_000}).status_code == 413


def test_replacing_a_cover_deletes_the_old_files_after_the_commit(
    staff_client, book, media_root, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        put_cover(staff_client, book.pk, images.png())
    run_thumbnail_tasks()
    first = stored_files(media_root)
    assert len(first) == 4

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert put_cover(staff_client, book.pk, images.jpeg(), name="new.jpg").status_code == 202
    # Until the commit the old files are still there (a rollback would need them).
    assert set(first) <= set(stored_files(media_root))
    for callback in callbacks:
        callback()
    run_thumbnail_tasks()

    now = stored_files(media_root)
    assert not set(first) & set(now)
    assert len(now) == 4
    assert any(name.endswith("original.jpg") for name in now)


def test_a_thumbnail_task_for_a_replaced_cover_does_nothing(
    staff_client, book, media_root, django_capture_on_commit_callbacks, queued_thumbnail_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        put_cover(staff_client, book.pk, images.png())
    [first] = queued_thumbnail_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        put_cover(staff_client, book.pk, images.webp(), name="second.webp")
    [second] = queued_thumbnail_tasks()

    assert covers.thumbnails_make(**first) == "stale"
    assert covers.thumbnails_make(**second) == "made"
    assert covers.thumbnails_make(**second) == "done"
    assert len(stored_files(media_root)) == 4


def test_delete_removes_the_cover_and_its_files(
    staff_client, api_client, book, media_root, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        put_cover(staff_client, book.pk, images.png())
    run_thumbnail_tasks()
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["cover"] is not None

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"/api/v1/books/{book.pk}/cover")

    assert response.status_code == 204
    assert api_client.get(f"/api/v1/books/{book.pk}").json()["cover"] is None
    assert stored_files(media_root) == []
    assert staff_client.delete(f"/api/v1/books/{book.pk}/cover").status_code == 204  # nothing left to remove


def test_deleting_a_book_deletes_its_cover_files_but_deactivating_keeps_them(
    staff_client, media_root, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    kept, gone = BookFactory(), BookFactory()
    OrderItemFactory(order=OrderFactory(), book=kept)  # ordered: deleting only deactivates it
    with django_capture_on_commit_callbacks(execute=True):
        put_cover(staff_client, kept.pk, images.png())
        put_cover(staff_client, gone.pk, images.jpeg(), name="c.jpg")
    run_thumbnail_tasks()
    assert len(stored_files(media_root)) == 8

    with django_capture_on_commit_callbacks(execute=True):
        assert services.book_delete(book=kept) is services.BookDeletion.DEACTIVATED
        assert services.book_delete(book=gone) is services.BookDeletion.DELETED

    remaining = stored_files(media_root)
    assert len(remaining) == 4
    assert any(name.endswith("original.png") for name in remaining)


def test_the_cover_of_an_unknown_book_is_404(staff_client):
    assert put_cover(staff_client, 999_999, images.png()).status_code == 404
    assert staff_client.delete("/api/v1/books/999999/cover").status_code == 404


@pytest.mark.parametrize("page_size", [5, 100])
def test_covers_add_no_query_to_the_book_list(api_client, django_assert_num_queries, page_size, media_root):
    for i in range(105):
        book = BookFactory(title=f"Volume {i:03d}")
        token = f"{i:032x}"
        BookCover.objects.create(
            book=book,
            original=f"covers/{token}/original.png",
            width=300,
            height=450,
            small=f"covers/{token}/160.webp",
            medium=f"covers/{token}/320.webp",
            large=f"covers/{token}/640.webp",
        )
    with django_assert_num_queries(5):  # COUNT, books with covers, series and works, credits, genres, editions
        response = api_client.get("/api/v1/books", {"page_size": page_size})
    results = response.json()["results"]
    assert len(results) == page_size
    assert all(book["cover"]["large"].endswith("/640.webp") for book in results)


def test_the_stored_original_is_the_re_encoded_image(staff_client, book, media_root):
    data = images.jpeg_with_exif(orientation=6)
    assert put_cover(staff_client, book.pk, data, name="photo.jpg").status_code == 202
    stored = Path(media_root, BookCover.objects.get(book=book).original).read_bytes()
    assert b"SpyCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (450, 300)
        assert not image.getexif()


def _raw_put(client: APIClient, book_id: int, body: bytes, content_type: str) -> Any:
    return client.generic("PUT", f"/api/v1/books/{book_id}/cover", body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'--x\r\nContent-Disposition: form-data; name="image"', "multipart/form-data"),  # no boundary given
        (
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG',
            "multipart/form-data; boundary=x",
        ),
        (b"garbage without any boundary", "multipart/form-data; boundary=x"),
        (b"", "multipart/form-data; boundary=x"),
        (b"--" + b"x" * 100 + b"\r\n", "multipart/form-data; boundary=" + "x" * 100),
        (
            b"".join(
                b'--x\r\nContent-Disposition: form-data; name="f%d"; filename="f.png"\r\n\r\n1\r\n' % i
                for i in range(150)
            )
            + b"--x--\r\n",
            "multipart/form-data; boundary=x",
        ),  # more files than Django accepts in one request
        (
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="../../\x00evil.png"\r\n'
            b"Content-Type: image/png\r\n\r\nnot a png\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
    ],
    ids=["no-boundary", "truncated", "no-parts", "empty", "long-boundary", "too-many-files", "hostile-filename"],
)
def test_hostile_multipart_bodies_are_400_never_500(staff_client, book, media_root, body, content_type):
    response = _raw_put(staff_client, book.pk, body, content_type)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert stored_files(media_root) == []


def test_the_sweep_queues_the_task_again_for_covers_left_without_thumbnails(
    staff_client, book, queued_thumbnail_tasks, run_thumbnail_tasks
):
    put_cover(staff_client, book.pk, images.png())  # its task never reached the broker (no commit here)
    assert queued_thumbnail_tasks() == []
    sweep = current_app.tasks["catalog.cover_sweep"]

    assert sweep.apply().get() == 0  # too recent: its task may still be on its way
    BookCover.objects.filter(book=book).update(uploaded_at=timezone.now() - covers.SWEEP_GRACE * 2)
    assert sweep.apply().get() == 1
    assert run_thumbnail_tasks() == ["made"]
    assert sweep.apply().get() == 0
    assert BookCover.objects.get(book=book).is_ready
