"""DRF authentication: ``Authorization: Bearer <JWT>`` and ``Authorization: Api-Key <key>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt import authentication as jwt_authentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from accounts import key_cache, keys, quotas
from accounts.exceptions import ApiKeyRejected
from accounts.models import ApiKey, User
from accounts.revocation import access_token_is_denied
from accounts.scopes import key_may_call, required_scope
from accounts.selectors import user_get_for_token
from accounts.services import api_key_authenticate, api_key_mark_used, api_key_usable

#: The attribute of the Django request that carries the key's quota state to ``ApiKeyRateLimitHeadersMiddleware``.
QUOTA_STATE_ATTRIBUTE = "api_key_quota"

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

    ``request.auth`` is the ``ApiKey``. With Redis, a call of a key used in the
    last minute is one Redis round trip and no query (``accounts.key_cache``:
    the cached key checked, the call counted against its daily quota);
    otherwise one query (the key with its owner) and one Redis round trip that
    counts the call. ``last_used_at`` is written at most once a minute per key.

    A call outside the key's scopes (``accounts.scopes``) is ``403``; a call
    over its daily quota ``429`` with ``Retry-After`` (until midnight UTC).
    Either way, and on success, the response carries the key's
    ``X-RateLimit-*`` headers.
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
        now = timezone.now()
        view = (request.parser_context or {}).get("view")
        needed = required_scope(view, request.method or "GET")
        prefix = keys.parse_prefix(key)
        cached = key_cache.call(prefix=prefix, digest=keys.key_digest(key), needed=needed, now=now) if prefix else None
        if cached is not None:
            api_key = cached.api_key
            # The script compared the digests and the expiry; the same rules again, in Python, cost nothing.
            if not api_key_usable(api_key=api_key, key=key, now=now):
                raise exceptions.AuthenticationFailed(ApiKeyRejected.default_message)
            if cached.write_last_used:
                api_key_mark_used(api_key=api_key, now=now, loaded_is_current=False)
            setattr(request._request, QUOTA_STATE_ATTRIBUTE, cached.quota)
            if not cached.in_scope:
                self._refuse_scope(needed)
            self._refuse_over_quota(cached.quota, now)
            return api_key.owner, api_key
        try:
            api_key = api_key_authenticate(key=key)
        except ApiKeyRejected as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        key_cache.store(api_key=api_key, now=now)
        self._enforce_scope_and_quota(request, api_key, needed, now)
        return api_key.owner, api_key

    def _enforce_scope_and_quota(self, request: Request, api_key: ApiKey, needed: str | None, now: datetime) -> None:
        if not key_may_call(scopes=api_key.scopes or [], needed=needed, every_scope=api_key.has_every_scope):
            state = quotas.peek(api_key_id=api_key.pk, quota=api_key.daily_quota, now=now)
            setattr(request._request, QUOTA_STATE_ATTRIBUTE, state)
            self._refuse_scope(needed)
        state = quotas.count_call(api_key_id=api_key.pk, quota=api_key.daily_quota, now=now)
        setattr(request._request, QUOTA_STATE_ATTRIBUTE, state)
        self._refuse_over_quota(state, now)

    @staticmethod
    def _refuse_scope(needed: str | None) -> None:
        what = f"the scope “{needed}”" if needed else "every scope (this route is about the account itself)"
        raise exceptions.PermissionDenied(f"This API key lacks {what}.")

    @staticmethod
    def _refuse_over_quota(state: quotas.QuotaState | None, now: datetime) -> None:
        if state is not None and not state.allowed:
            raise exceptions.Throttled(
                wait=state.retry_after(now),
                detail=f"This API key's daily quota of {state.limit} calls is used up; it starts over at midnight UTC.",
            )

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
