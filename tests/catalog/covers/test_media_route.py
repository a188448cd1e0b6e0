"""`make run` serves the covers from MEDIA_ROOT; nothing outside it, and only when asked to."""

from __future__ import annotations

import pytest

from bookstore.media import media_urlpatterns

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_client(settings, client, media_root):
    settings.ROOT_URLCONF = "tests.catalog.covers.media_urls"
    (media_root / "covers" / "abc").mkdir(parents=True)
    (media_root / "covers" / "abc" / "160.webp").write_bytes(b"RIFF....WEBP")
    # A secret beside (not inside) the media folder.
    (media_root.parent / "secret.txt").write_text("database password")
    return client


def test_a_stored_file_is_served_with_a_sandbox(media_client):
    response = media_client.get("/media/covers/abc/160.webp")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"RIFF....WEBP"
    assert response["Content-Type"] == "image/webp"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/media/../secret.txt",
        "/media/covers/../../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/covers/%2e%2e/%2e%2e/secret.txt",
        "/media/..%2fsecret.txt",
        "/media//etc/passwd",
        "/media/covers/",
        "/media/covers/abc/missing.webp",
    ],
)
def test_nothing_outside_media_root_and_no_listing(media_client, path):
    response = media_client.get(path)
    assert response.status_code in (400, 404)
    assert b"database password" not in (
        b"".join(response.streaming_content) if response.streaming else response.content
    )


def test_only_reads_are_allowed(media_client):
    assert media_client.post("/media/covers/abc/160.webp").status_code == 405
    assert media_client.head("/media/covers/abc/160.webp").status_code == 200


def test_the_route_exists_only_when_media_is_served_from_the_filesystem(settings):
    settings.SERVE_MEDIA = False
    assert media_urlpatterns() == []
    settings.SERVE_MEDIA = True
    [route] = media_urlpatterns()
    assert route.pattern.match("media/covers/x/160.webp")
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    assert media_urlpatterns() == []
    settings.MEDIA_URL = "/media/"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "b"}},
    }
    assert media_urlpatterns() == []


def test_the_store_does_not_serve_media_by_default(client, media_root):
    (media_root / "x.png").write_bytes(b"x")
    assert client.get("/media/x.png").status_code == 404
