"""Covers in an S3-compatible bucket: django-storages' S3 backend against moto's S3 server (a real HTTP server).

moto (``moto[server]`` from PyPI) runs as a separate process on a free
loopback port; boto3 talks to it over HTTP exactly as to any S3-compatible
store. The settings are the ones ``AWS_STORAGE_BUCKET_NAME`` and friends
produce in ``bookstore/settings.py``.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import BookCover
from tests.catalog.covers import images
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
BUCKET = "bookstore-covers"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the whole session."""
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/moto-api/", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's S3 server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def bucket(s3_server: str, settings: Any) -> Iterator[Any]:
    """An empty bucket, and the default storage pointed at it (as AWS_STORAGE_BUCKET_NAME etc. configure it)."""
    s3 = boto3.resource("s3", endpoint_url=s3_server, **CREDENTIALS)
    created = s3.create_bucket(Bucket=BUCKET)
    created.Policy().put(
        Policy=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
            f'"Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/*"}}]}}'
        )
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "querystring_auth": False,
                "file_overwrite": False,
            },
        },
    }
    yield created
    created.objects.all().delete()
    created.delete()


def keys(bucket: Any) -> list[str]:
    return sorted(item.key for item in bucket.objects.all())


def test_a_cover_goes_to_the_bucket_and_comes_back_as_three_webp_thumbnails(
    bucket, s3_server, staff_client, api_client, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    book = BookFactory()
    upload = SimpleUploadedFile("cover.png", images.png((500, 750)), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.put(f"/api/v1/books/{book.pk}/cover", {"image": upload}, format="multipart")
    assert response.status_code == 202, response.content
    original = BookCover.objects.get(book=book).original
    assert keys(bucket) == [original]

    assert run_thumbnail_tasks() == ["made"]

    assert len(keys(bucket)) == 4
    cover = api_client.get(f"/api/v1/books/{book.pk}").json()["cover"]
    for size, width in (("small", 160), ("medium", 320), ("large", 640)):
        assert cover[size].startswith(f"{s3_server}/{BUCKET}/covers/")
        fetched = requests.get(cover[size], timeout=10)  # straight from the bucket, as a browser would
        assert fetched.status_code == 200
        with Image.open(io.BytesIO(fetched.content)) as thumbnail:
            assert thumbnail.format == "WEBP"
            assert thumbnail.size == (width, width * 3 // 2)

    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.delete(f"/api/v1/books/{book.pk}/cover").status_code == 204
    assert keys(bucket) == []


def test_a_refused_upload_puts_nothing_in_the_bucket(bucket, staff_client):
    book = BookFactory()
    upload = SimpleUploadedFile("cover.png", images.png() + images.zip_archive(), content_type="image/png")
    response = staff_client.put(f"/api/v1/books/{book.pk}/cover", {"image": upload}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["image"]
    assert keys(bucket) == []


def test_replacing_a_cover_in_the_bucket_deletes_the_old_objects(
    bucket, staff_client, django_capture_on_commit_callbacks, run_thumbnail_tasks
):
    book = BookFactory()
    for data in (images.png(), images.webp()):
        upload = SimpleUploadedFile("c", data, content_type="application/octet-stream")
        with django_capture_on_commit_callbacks(execute=True):
            staff_client.put(f"/api/v1/books/{book.pk}/cover", {"image": upload}, format="multipart")
        run_thumbnail_tasks()
    remaining = keys(bucket)
    assert len(remaining) == 4
    assert any(key.endswith("/original.webp") for key in remaining)


def test_the_bucket_settings_come_from_the_environment(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": "x" * 50,
        "AWS_STORAGE_BUCKET_NAME": "shop-media",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
        "AWS_ACCESS_KEY_ID": "key-id",
    }
    code = "import json, bookstore.settings as s; print(json.dumps(s.STORAGES['default']))"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    storage = json.loads(result.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "shop-media"
    assert storage["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert storage["OPTIONS"]["custom_domain"] == "cdn.example.com"
    assert storage["OPTIONS"]["access_key"] == "key-id"
    assert storage["OPTIONS"]["querystring_auth"] is False

    del env["AWS_STORAGE_BUCKET_NAME"]
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "FileSystemStorage" in result.stdout
