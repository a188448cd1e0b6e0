"""DRF authentication: ``Authorization: Bearer <JWT>`` and ``Authorization: Api-Key <key>``."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt import authentication as jwt_authentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from accounts.exceptions import ApiKeyRejected
from accounts.models import ApiKey, User
from accounts.revocation import access_token_is_denied
from accounts.selectors import user_get_for_token
from accounts.services import api_key_authenticate

INVALID_JWT_MESSAGE = "Token is invalid, expired or revoked."


class JWTAuthentication(jwt_authentication.JWTAuthentication):
    """simplejwt's bearer authentication, strict about the user behind the token.

    A token stops working at once when its user is deleted or deactivated or
    changes their password or signs out everywhere, and when it was signed out
    itself (``accounts.revocation``: one cache read); every failure is one
    plain 401 message.
    """

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            token = super().get_validated_token(raw_token)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(INVALID_JWT_MESSAGE, code="token_not_valid") from exc
        if access_token_is_denied(jti=token.get(jwt_settings.JTI_CLAIM)):
            raise exceptions.AuthenticationFailed(INVALID_JWT_MESSAGE, code="token_not_valid")
        return token

    def get_user(self, validated_token: Token) -> Any:
        user = user_get_for_token(token=validated_token)
        if user is None:
            raise exceptions.AuthenticationFailed(INVALID_JWT_MESSAGE, code="token_not_valid")
        return user


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key bk_<prefix>_<secret>`` authenticates as the key's owner.

    ``request.auth`` is the ``ApiKey``. One query per request (the key with its
    owner), plus a ``last_used_at`` write at most once a minute per key.
    """

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(f"The Authorization header must be “{self.keyword} <key>”.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(ApiKeyRejected.default_message) from exc
        try:
            api_key = api_key_authenticate(key=key)
        except ApiKeyRejected as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        return api_key.owner, api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
