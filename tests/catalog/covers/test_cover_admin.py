"""Covers in the book admin: upload with the API's checks, a preview on the change page, a thumbnail in the list."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Book, BookCover
from tests.catalog.covers import images
from tests.catalog.covers.conftest import stored_files
from tests.factories import AuthorFactory, BookFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/book/"


@pytest.fixture
def admin_client(db: Any) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _change_form_data(client: Client, book: Book) -> dict[str, Any]:
    """The book's change form as the browser would submit it unchanged."""
    response = client.get(f"/admin/catalog/book/{book.pk}/change/")
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or name.startswith("cover_"):
            continue
        data[name] = [item.pk for item in value] if name == "genres" else value
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{management.prefix}-{name}"] = management[name].value()
        for index, inline in enumerate(formset.formset.forms):
            for name in ("id", "book", "author", "role", "position"):
                value = inline[name].value()
                if value is not None:
                    data[f"{formset.formset.prefix}-{index}-{name}"] = value
    return data


def test_staff_upload_a_cover_on_the_change_page_and_see_it_there_and_in_the_list(
    admin_client, media_root, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    book = BookFactory(title="The Left Hand of Darkness", authors=[AuthorFactory(name="Ursula K. Le Guin")])
    page = admin_client.get(f"/admin/catalog/book/{book.pk}/change/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "No cover." in page

    data = _change_form_data(admin_client, book)
    data["cover_image"] = SimpleUploadedFile("scan.png", images.png((400, 600)), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/catalog/book/{book.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response

    assert "thumbnails are being made" in admin_client.get(f"/admin/catalog/book/{book.pk}/change/").content.decode()
    assert run_thumbnail_tasks() == ["made"]
    cover = BookCover.objects.get(book=book)

    page = admin_client.get(f"/admin/catalog/book/{book.pk}/change/").content.decode()
    assert f'src="/media/{cover.medium}"' in page
    listing = admin_client.get(CHANGELIST).content.decode()
    assert f'src="/media/{cover.small}"' in listing
    assert len(stored_files(media_root)) == 4


def test_an_upload_that_is_not_an_image_is_an_error_on_the_form_and_stores_nothing(admin_client, media_root):
    book = BookFactory()
    data = _change_form_data(admin_client, book)
    data["cover_image"] = SimpleUploadedFile("cover.png", images.png() + images.zip_archive())
    response = admin_client.post(f"/admin/catalog/book/{book.pk}/change/", data)
    assert response.status_code == 200
    assert "data after the end of the image" in str(response.context["adminform"].form.errors["cover_image"])
    assert not BookCover.objects.exists()
    assert stored_files(media_root) == []


def test_staff_remove_a_cover_in_the_admin(admin_client, media_root, django_capture_on_commit_callbacks):
    book = BookFactory()
    data = _change_form_data(admin_client, book)
    data["cover_image"] = SimpleUploadedFile("c.jpg", images.jpeg())
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/catalog/book/{book.pk}/change/", data)
    assert BookCover.objects.filter(book=book).exists()

    data = _change_form_data(admin_client, book)
    data["cover_remove"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/catalog/book/{book.pk}/change/", data).status_code == 302
    assert not BookCover.objects.exists()
    assert stored_files(media_root) == []


def test_the_list_with_covers_runs_as_many_queries_for_5_and_50_books(admin_client):
    def add_books(n: int) -> None:
        for _ in range(n):
            book = BookFactory()
            BookCover.objects.create(
                book=book,
                original=f"covers/{book.pk}/original.png",
                width=1,
                height=1,
                small="s",
                medium="m",
                large="l",
            )

    add_books(5)
    admin_client.get(CHANGELIST)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(ctx.captured_queries)

    with_5 = queries()
    add_books(45)
    assert queries() == with_5
