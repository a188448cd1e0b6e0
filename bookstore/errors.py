"""The error envelope: one place that turns every failure into API.md's shape.

``{"error": {"code": ..., "message": ..., "details": {...}}}``

Apps raise subclasses of ``bookstore.exceptions.DomainError`` (which imports no
DRF) from their ``exceptions.py``; DRF and Django exceptions are mapped here too,
so views never build error bodies.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import is_valid_path
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from bookstore.exceptions import DomainError

logger = logging.getLogger("bookstore.errors")

RETRY_AFTER_DB_SECONDS = 5


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse(envelope(code, message, details), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def service_unavailable_response(*, api: bool) -> HttpResponse:
    headers = {"Retry-After": str(RETRY_AFTER_DB_SECONDS)}
    if api:
        return error_response(
            503, "service_unavailable", "The service is temporarily unavailable. Try again shortly.", headers=headers
        )
    response = HttpResponse("Service temporarily unavailable.", status=503, content_type="text/plain")
    response["Retry-After"] = headers["Retry-After"]
    return response


def flatten_details(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error structure to ``{"items.1.quantity": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = str(key)
            if name == "non_field_errors":
                name = prefix if prefix else "non_field_errors"
            else:
                name = f"{prefix}.{name}" if prefix else name
            for sub_key, messages in flatten_details(value, name).items():
                flat.setdefault(sub_key, []).extend(messages)
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            if data:
                flat[prefix or "non_field_errors"] = [str(item) for item in data]
        else:
            for index, item in enumerate(data):
                name = f"{prefix}.{index}" if prefix else str(index)
                for sub_key, messages in flatten_details(item, name).items():
                    flat.setdefault(sub_key, []).extend(messages)
    elif data is not None:
        flat[prefix or "non_field_errors"] = [str(data)]
    return flat


_DRF_CODES: list[tuple[type[drf.APIException], str]] = [
    (drf.ValidationError, "validation_error"),
    (drf.ParseError, "validation_error"),
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "not_authenticated"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "throttled"),
]


def _drf_code(exc: drf.APIException) -> str:
    for cls, code in _DRF_CODES:
        if isinstance(exc, cls):
            return code
    return "server_error" if exc.status_code >= 500 else "error"


def _message_for_validation(details: dict[str, list[str]]) -> str:
    if not details:
        return "Invalid input."
    field, messages = next(iter(details.items()))
    if field == "non_field_errors":
        return messages[0]
    return f"Invalid input: {field}: {messages[0]}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: every exception becomes an enveloped response."""
    # Whatever the failure, a request that errors writes nothing.
    set_rollback()
    if isinstance(exc, DomainError):
        return Response(envelope(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            envelope("conflict", "The object is still referenced by other records and cannot be deleted."),
            status=409,
        )
    elif isinstance(exc, RequestDataTooBig):
        return Response(envelope("payload_too_large", "Request body exceeds the size limit."), status=413)
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable", extra={"error": exc.__class__.__name__})
        return Response(
            envelope("service_unavailable", "The service is temporarily unavailable. Try again shortly."),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_DB_SECONDS)},
        )

    if isinstance(exc, drf.APIException):
        headers: dict[str, str] = {}
        if auth_header := getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = auth_header
        if isinstance(exc, drf.Throttled):
            wait = getattr(exc, "wait", None)
            headers["Retry-After"] = str(max(1, math.ceil(wait or 1)))
        code = _drf_code(exc)
        if code == "validation_error":
            details = flatten_details(exc.detail)
            message = _message_for_validation(details)
            if isinstance(exc, drf.ParseError):
                message = f"Malformed request body: {exc.detail}"
                details = {}
        else:
            details = {}
            message = str(exc.detail) if not isinstance(exc.detail, dict | list) else "Request failed."
        if isinstance(exc, drf.Throttled):
            message = f"Too many requests. Retry in {headers['Retry-After']} seconds."
        return Response(envelope(code, message, details), status=exc.status_code, headers=headers)

    request = context.get("request")
    logger.error(
        "unhandled exception",
        exc_info=exc,
        extra={"path": getattr(request, "path", None)},
    )
    return Response(envelope("server_error", "An unexpected error occurred."), status=500)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _path_without_trailing_slash(request: HttpRequest) -> str | None:
    """The path the client probably meant when it added a trailing slash, if that path exists.

    API resources have no trailing slash (API.md), but many clients add one;
    ``/api/v1/books/`` then names ``/api/v1/books``. Only ``/api/v1/`` and a few
    others end in one slash, so ``/api/v1//`` names ``/api/v1/``.
    """
    path_info = request.path_info
    if not path_info.endswith("/"):
        return None
    stripped = path_info.rstrip("/")
    urlconf = getattr(request, "urlconf", None)
    for candidate in (stripped, f"{stripped}/"):
        if candidate and candidate != path_info and is_valid_path(candidate, urlconf):
            script_prefix = request.path[: len(request.path) - len(path_info)]
            return script_prefix + candidate
    return None


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        if meant := _path_without_trailing_slash(request):
            return error_response(404, "not_found", f"Not found. Did you mean {meant}?")
        return error_response(404, "not_found", "No such resource.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return error_response(500, "server_error", "An unexpected error occurred.")
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(400, "validation_error", "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(403, "permission_denied", "You do not have permission to perform this action.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception or DjangoPermissionDenied())
