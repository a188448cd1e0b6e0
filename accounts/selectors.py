"""Reads of the accounts app, shared by the API, authentication and the admin."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import ApiKey, User


def user_get_for_token(*, token: Token) -> User | None:
    """The active user a validated JWT belongs to, or ``None``.

    ``None`` when the user was deleted or deactivated, changed their password
    after the token was issued, or had their tokens revoked after it was issued
    (``tokens_revoked_at``, set on deactivation, so reactivating an account does
    not revive its old tokens): such tokens stop working at once. One query.
    """
    user_id = token.get(jwt_settings.USER_ID_CLAIM)
    if user_id is None:
        return None
    try:
        user = User.objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active:
        return None
    if jwt_settings.CHECK_REVOKE_TOKEN and token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        return None
    if user.tokens_revoked_at is not None:
        issued_at = token.get("iat")
        # ``iat`` has whole seconds: a token from the second of the revocation is refused too.
        if not isinstance(issued_at, int | float) or issued_at <= user.tokens_revoked_at.timestamp():
            return None
    return user


def api_key_list_for_owner(*, owner: User) -> QuerySet[ApiKey]:
    """The keys of ``owner`` that are not revoked, newest first."""
    return ApiKey.objects.filter(owner=owner, revoked_at__isnull=True).order_by("-created_at", "-id")


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    """The key with this public prefix and its owner, in one query."""
    return ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
