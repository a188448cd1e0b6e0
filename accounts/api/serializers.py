"""Input and output shapes of the accounts API (API.md, "Accounts and auth")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiKey, User


def _password_field(**kwargs: Any) -> serializers.CharField:
    # Passwords are taken verbatim: surrounding spaces are part of them.
    return serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"}, **kwargs
    )


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "is_staff", "date_joined"]
        read_only_fields = fields


class UserUpdateSerializer(serializers.Serializer[Any]):
    """``PATCH /users/me``: only the name; ``email`` and ``is_staff`` are read-only here."""

    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)


class RegisterSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    password = _password_field()
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")


class TokenObtainSerializer(serializers.Serializer[Any]):
    # Not an EmailField: a malformed email is just a wrong credential (401), like any other.
    email = serializers.CharField(max_length=254, write_only=True)
    password = _password_field()


class TokenRefreshSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(write_only=True)


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField(read_only=True, help_text="Access token (JWT); send as `Bearer <access>`.")
    refresh = serializers.CharField(read_only=True, help_text="Refresh token; single use, rotated on refresh.")


class LogoutSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(write_only=True, help_text="The refresh token to revoke; must be the caller's.")


class PasswordChangeSerializer(serializers.Serializer[Any]):
    current_password = _password_field()
    new_password = _password_field()


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The new key with its secret; the only response that ever contains ``key``."""

    key = serializers.SerializerMethodField(help_text="The full key. Shown only in this response; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = ["id", "name", "prefix", "key", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_key(self, obj: ApiKey) -> str:
        return str(self.context["key"])


class ApiKeyCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
