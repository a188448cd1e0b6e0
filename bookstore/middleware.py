"""Cross-cutting request handling: request ids and logging, body limits, DB outages, caching of private answers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, SimpleLazyObject, empty

from bookstore.errors import error_response, service_unavailable_response
from bookstore.logging import request_id_var

logger = logging.getLogger("bookstore.request")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

GetResponse = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Give every request an id (honouring a sane ``X-Request-ID``), echo it, log one line.

    The log line never contains headers or bodies, so credentials cannot leak.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": _logged_user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _logged_user_id(request: HttpRequest) -> int | None:
    """The id of the user the request ran as, without loading one just to log it.

    A user the view never looked at stays an unevaluated lazy object; loading it
    here would query the session, and with the database down that query would
    turn the 503 already answered into a 500.
    """
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, LazyObject) and user._wrapped is empty):  # type: ignore[attr-defined]
        return None
    return user.pk if user.is_authenticated else None


class NoStoreForAuthenticatedMiddleware:
    """``Cache-Control: no-store`` on every response to an authenticated request (API.md).

    What a signed-in caller sees (their orders, staff-only books) must not be
    kept by a browser or a shared cache, whatever caching a view set for
    anonymous callers. API views authenticate inside DRF, which puts the user
    on the request, so this looks only after the response is built.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A user a view never looked at (still lazy) did not shape the response.
        if _logged_user_id(request) is not None and "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


#: Where files are uploaded (a book's cover, through the API or the admin book form): ``MAX_UPLOAD_REQUEST_BYTES``.
_UPLOAD_PATH_RE = re.compile(r"^/(?:api/v1/books/[^/]+/cover|admin/catalog/book/(?:add|[^/]+/change)/)$")

#: The admin's book file upload (``catalog.admin.imports``): ``IMPORT_MAX_BYTES`` plus the multipart envelope.
_IMPORT_UPLOAD_PATH = "/admin/catalog/importjob/add/"
_IMPORT_ENVELOPE_BYTES = 64 * 1024


class StaticFilesMiddleware:
    """WhiteNoise, built on the first request for a static file.

    WhiteNoise indexes every file under ``STATIC_ROOT`` when it is created (a
    few thousand objects for the admin's, the API docs' and the store's files,
    about 3 MiB), which every worker would otherwise hold from its start
    whether or not it ever serves one (README, "Worker memory"). Requests
    outside ``STATIC_URL`` never reach it; with ``WHITENOISE_ROOT`` (files
    served at the site root) it is built at once, as WhiteNoise is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from whitenoise.string_utils import ensure_leading_trailing_slash

        self.get_response = get_response
        self._whitenoise: Callable[[HttpRequest], HttpResponse] | None = None
        prefix = urlparse(settings.STATIC_URL or "").path
        script_name = (settings.FORCE_SCRIPT_NAME or "").rstrip("/")
        if script_name and prefix.startswith(script_name):
            prefix = prefix[len(script_name) :]
        self.prefix = ensure_leading_trailing_slash(prefix)
        if getattr(settings, "WHITENOISE_ROOT", None):
            self._whitenoise = self._build()

    def _build(self) -> Callable[[HttpRequest], HttpResponse]:
        from whitenoise.middleware import WhiteNoiseMiddleware

        return WhiteNoiseMiddleware(self.get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._whitenoise is None:
            if not request.path_info.startswith(self.prefix):
                return self.get_response(request)
            self._whitenoise = self._build()
        return self._whitenoise(request)


class BodySizeLimitMiddleware:
    """Reject bodies over ``MAX_REQUEST_BYTES`` (uploads: ``MAX_UPLOAD_REQUEST_BYTES``, book files for import:
    ``IMPORT_MAX_BYTES``) before anything reads them (413)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        upload = request.method in ("POST", "PUT") and _UPLOAD_PATH_RE.match(request.path) is not None
        limit = settings.MAX_UPLOAD_REQUEST_BYTES if upload else settings.MAX_REQUEST_BYTES
        if request.method == "POST" and request.path == _IMPORT_UPLOAD_PATH:
            limit = settings.IMPORT_MAX_BYTES + _IMPORT_ENVELOPE_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            if is_api_path(request):
                return error_response(413, "payload_too_large", f"Request body exceeds the limit of {limit} bytes.")
            return HttpResponse("Request body too large.", status=413, content_type="text/plain")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection outside DRF views into a 503, not a 500."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError) or type(exception) is DatabaseError:
            logger.warning("database unavailable", extra={"error": exception.__class__.__name__})
            return service_unavailable_response(api=is_api_path(request))
        return None


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with the storage made on first use rather than for every request.

    Only the admin's pages and forms use messages. Building the storage (a cookie signer and the session
    storage behind it) for every API request cost more than several other middleware together; a request
    that never touched its messages has nothing to save.
    """

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:  # type: ignore[attr-defined]
            return response
        return super().process_response(request, response)
