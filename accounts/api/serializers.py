"""Input and output shapes of the accounts API (API.md, "Accounts and auth")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django_countries import countries
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Address, ApiKey, ApiKeyScope, User


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


#: Fields a client may send to ``PATCH /users/me`` that it cannot change there, and how they change, if they can.
USER_NOT_WRITABLE = {
    "email": "The email address cannot be changed through the API. Contact the shop to change it.",
    "is_staff": "Staff status cannot be changed through the API. Only a staff administrator grants it, in the admin.",
    "id": "The account id never changes.",
    "date_joined": "The date the account was created never changes.",
    "password": "Change the password with POST /api/v1/users/me/password.",
}


class UserUpdateSerializer(serializers.Serializer[Any]):
    """The caller's name: `first_name` and `last_name`, both optional.

    Any other field is a `400` naming it, rather than a `200` that silently
    changes nothing: a read-only field of the user (`email`, `is_staff`, `id`,
    `date_joined`, or `password`) with how it can be changed, if it can; any
    other name as unknown.
    """

    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        refused: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            writable = ", ".join(self.fields)
            refused = {
                str(name): [USER_NOT_WRITABLE.get(str(name), f"Unknown field. Fields that can be changed: {writable}.")]
                for name in data
                if name not in self.fields
            }
        try:
            value: dict[str, Any] = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not refused or not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **refused}) from exc
        if refused:
            raise serializers.ValidationError(refused)
        return value


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


class OidcCallbackSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=2048, help_text="The `code` the provider sent back.")
    state = serializers.CharField(max_length=128, help_text="The `state` the provider sent back.")


class LogoutSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(write_only=True, help_text="The refresh token to revoke; must be the caller's.")


class PasswordChangeSerializer(serializers.Serializer[Any]):
    current_password = _password_field()
    new_password = _password_field()


_SCOPES_HELP = (
    "What the key may do: `catalog:read`, `catalog:write`, `orders:read`, `orders:write`; never more than its "
    "owner may. A key with every scope may also use the account's own routes (`/users/me` ...)."
)


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices), read_only=True, help_text=_SCOPES_HELP
    )

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "daily_quota", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields
        extra_kwargs = {"daily_quota": {"help_text": "Calls allowed per UTC day; `null`: no quota."}}


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The new key with its secret; the only response that ever contains ``key``."""

    key = serializers.SerializerMethodField(help_text="The full key. Shown only in this response; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = ["id", "name", "prefix", "key", "scopes", "daily_quota", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_key(self, obj: ApiKey) -> str:
        return str(self.context["key"])


class ApiKeyCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices),
        required=False,
        allow_empty=False,
        max_length=len(ApiKeyScope.choices),
        default=None,
        help_text=_SCOPES_HELP + " Default: every scope.",
    )
    daily_quota = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=2_000_000_000,
        help_text="Calls allowed per UTC day; over it, calls are `429` until midnight UTC. Default: no quota.",
    )


class ApiKeyDayUsageSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(read_only=True, help_text="The UTC day.")
    calls = serializers.IntegerField(read_only=True, help_text="Calls made with the key that day (refused ones not).")


class ApiKeyUsageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True, help_text="The key's id.")
    daily_quota = serializers.IntegerField(read_only=True, allow_null=True)
    days = ApiKeyDayUsageSerializer(many=True, read_only=True, help_text="The last 30 UTC days, today first.")


#: ISO 3166-1 alpha-2 codes with their English names; one ``Country`` enum in the OpenAPI schema.
COUNTRY_CHOICES = [(country.code, country.name) for country in countries]


class CountryCodeField(serializers.ChoiceField):
    """An ISO 3166-1 alpha-2 country code, in any case; stored and shown upper-case.

    Stricter than django-countries' own field, which also takes names and
    alpha-3 codes: the contract speaks alpha-2 only.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 code, e.g. `DE`.")
        super().__init__(choices=COUNTRY_CHOICES, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = data.strip().upper() if isinstance(data, str) else None
        if code not in self.choices:
            self.fail("invalid_choice", input=data)
        return str(code)

    def to_representation(self, value: Any) -> str:
        return str(getattr(value, "code", value) or "")


class AddressSerializer(serializers.ModelSerializer[Address]):
    """A saved postal address; the postal code is checked for its country by ``accounts.services``."""

    country = CountryCodeField()

    class Meta:
        model = Address
        fields = ["id", "name", "line1", "line2", "city", "postal_code", "region", "country", "phone", "is_default"]
        read_only_fields = ["id"]
        extra_kwargs = {
            "postal_code": {
                "help_text": "Checked against the country's format where it is well known (DE, FR, GB, NL, US, CA, ...)."
            },
            "is_default": {"help_text": "At most one default address; setting it here clears it on the others."},
        }


class PasswordResetRequestSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer[Any]):
    uid = serializers.CharField(max_length=64, help_text="`uid` from the emailed link.")
    token = serializers.CharField(max_length=128, help_text="`token` from the emailed link.")
    new_password = _password_field()


class AccountCloseSerializer(serializers.Serializer[Any]):
    password = _password_field(help_text="The account's current password, to confirm.")


def _records(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.DictField(), help_text=help_text)


class PersonalDataExportSerializer(serializers.Serializer[Any]):
    """The shape of ``GET /users/me/export`` (documentation; the data comes from ``accounts.personal_data``)."""

    exported_at = serializers.DateTimeField()
    account = serializers.DictField(help_text="id, email, first_name, last_name, is_staff, is_active, dates, groups.")
    addresses = _records("The saved addresses.")
    sessions = _records("Refresh tokens issued: created_at, expires_at, revoked.")
    api_keys = _records("API keys (staff): everything but the secret, which the shop never stores.")
    emails = _records("Emails the shop queued or sent to the caller: subject, template, state, dates, text.")
    orders = _records("Orders with their lines, status history, address copies and payment (no secrets).")
