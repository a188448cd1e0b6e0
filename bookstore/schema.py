"""OpenAPI generation: every operation documents the errors it can answer, in the envelope's shape.

Every ``201`` response also documents its ``Location`` header, and an
operation the view's permissions allow without credentials (the catalog's
reads) lists anonymous access (``{}``) among its security requirements, so
Swagger UI shows no lock on it.

Views document their success responses and the errors specific to them
(``409 insufficient_stock``, ...). The failures every endpoint shares come
from the project's plumbing, so they are added here, once, from what the view
is made of: authentication (401), permissions (403), path parameters and
pagination (404), input (400, 413, 415), throttles (429) and the database
(503). Each 4xx/5xx response carries the ``ErrorEnvelope`` schema, so clients
and contract tests can rely on it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular import openapi
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

_BODY_METHODS = {"POST", "PUT", "PATCH"}

DESCRIPTIONS = {
    400: "`validation_error`: malformed JSON or invalid values; `details` maps each field (or `items.2.quantity`) "
    "to its messages.",
    401: "`not_authenticated`: credentials missing, invalid, expired or revoked.",
    403: "`permission_denied`: authenticated, but not allowed to do this.",
    404: "`not_found`: no such object among those the caller may see (or no such page).",
    413: "`payload_too_large`: the request body is over the size limit.",
    415: "`unsupported_media_type`: send `application/json`.",
    429: "`throttled`: too many requests; retry after the `Retry-After` header's seconds.",
    503: "`service_unavailable`: the database is unreachable; retry after the `Retry-After` header's seconds.",
}


#: Every ``201 Created`` names the new resource (API.md, General additions).
LOCATION_HEADER = {
    "schema": {"type": "string", "format": "uri"},
    "required": True,
    "description": "URL of the created resource (for a new account: `/api/v1/users/me`).",
}


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `validation_error`.")
    message = serializers.CharField(help_text="Human-readable summary.")
    details = serializers.DictField(
        help_text='Per-field messages (`{"price": ["..."]}`) or structured details of the error.'
    )


class ErrorEnvelopeSerializer(serializers.Serializer[Any]):
    """The one shape of every 4xx/5xx response under /api/."""

    error = ErrorDetailSerializer()


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the shared error responses of every operation."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        if "201" in responses:
            responses["201"].setdefault("headers", {}).setdefault("Location", LOCATION_HEADER)
        for shared in self._shared_error_statuses(operation):
            responses.setdefault(str(shared), {"description": DESCRIPTIONS[shared]})
        envelope = self.resolve_serializer(ErrorEnvelopeSerializer, "response").ref
        for status, response in responses.items():
            if status[0] in "45" and "content" not in response:
                response["content"] = {"application/json": {"schema": envelope}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_auth(self) -> list[dict[str, list[Any]]]:
        auths: list[dict[str, list[Any]]] = super().get_auth()
        if auths and {} not in auths and self._allows_anonymous():
            auths.append({})
        return auths

    def _allows_anonymous(self) -> bool:
        """Whether the view's permissions grant this method to a caller without credentials.

        Asked of the permission classes themselves, with an anonymous request,
        so the schema follows whatever the view enforces.
        """
        http_request = HttpRequest()
        http_request.method = self.method
        anonymous = Request(http_request, authenticators=())
        return all(permission.has_permission(anonymous, self.view) for permission in self.view.get_permissions())

    def _shared_error_statuses(self, operation: dict[str, Any]) -> list[int]:
        statuses = [503]
        view = self.view
        parameters = operation.get("parameters", [])
        if view.get_authenticators():
            statuses.append(401)
        if any(not isinstance(permission, AllowAny) for permission in view.get_permissions()):
            statuses += [401, 403]
        if any(parameter["in"] == "path" for parameter in parameters) or self._is_paginated_list():
            statuses.append(404)
        if "requestBody" in operation or any(parameter["in"] == "query" for parameter in parameters):
            statuses.append(400)
        if self.method in _BODY_METHODS:
            statuses += [400, 413, 415]
        if view.get_throttles():
            statuses.append(429)
        return sorted(set(statuses))

    def _is_paginated_list(self) -> bool:
        return self._is_list_view() and self._get_paginator() is not None and self.method == "GET"
