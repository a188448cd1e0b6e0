"""OpenAPI extensions of the accounts app: the two authentication schemes, the profile update (imported by AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension


class JWTScheme(SimpleJWTScheme):
    """``Authorization: Bearer <access token>`` (our subclass of simplejwt's authentication)."""

    target_class = "accounts.authentication.JWTAuthentication"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """``Authorization: Api-Key <key>``; OpenAPI 3.0 has no custom HTTP scheme, so an apiKey header."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "API key of a staff member, sent as `Authorization: Api-Key bk_<prefix>_<secret>`. "
                "Keys are created at `POST /api/v1/api-keys` or in the admin and shown once."
            ),
        }


class UserUpdateSchema(OpenApiSerializerExtension):
    """``PATCH /users/me`` refuses every field but the name: the schema says so (``additionalProperties``)."""

    target_class = "accounts.api.serializers.UserUpdateSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
