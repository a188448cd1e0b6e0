"""Serving uploaded media (book covers) from ``MEDIA_ROOT`` for a local store (``make run``).

Production serves media from the web server or the S3 bucket; this view is
routed only when ``SERVE_MEDIA`` is on and the default storage is the
filesystem. ``django.views.static.serve`` normalises the path and joins it
safely under the root, so ``..`` or an absolute path never leaves it (404).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, re_path
from django.views.decorators.http import require_safe
from django.views.static import serve


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponseBase:
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT), show_indexes=False)
    # Only images live here; whatever a file is, the browser must never run it as a page.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=86400"
    return response


def media_urlpatterns() -> list[URLPattern]:
    """The media route, when this process should serve media files at all."""
    prefix = str(settings.MEDIA_URL)
    if not settings.SERVE_MEDIA or not isinstance(storages["default"], FileSystemStorage):
        return []
    if not prefix.startswith("/") or prefix.startswith("//"):
        return []  # media on another host
    return [re_path(rf"^{prefix.strip('/')}/(?P<path>.+)$", media, name="media")]
