"""Reads of the accounts app, shared by the API, authentication and the admin."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import quotas
from accounts.models import Address, ApiKey, ApiKeyDailyUsage, User
from bookstore.rows import row_get

#: How many days the usage report of a key covers, today included.
API_KEY_USAGE_DAYS = 30


class DayUsage(NamedTuple):
    date: date
    calls: int


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
        # The claim holds the primary key (``SIMPLE_JWT["USER_ID_FIELD"]``): one statement, no query to build.
        user = row_get(User, user_id)
    except (TypeError, ValueError, OverflowError):
        return None
    if user is None or not user.is_active:
        return None
    if jwt_settings.CHECK_REVOKE_TOKEN and token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        return None
    if user.tokens_revoked_at is not None and token_issued_at(token) <= user.tokens_revoked_at.timestamp():
        return None
    return user


#: Milliseconds since the epoch at which the store issued a token pair (``services.token_pair_for``).
ISSUED_AT_MS_CLAIM = "iat_ms"


def token_issued_at(token: Token) -> float:
    """When ``token`` was issued, in seconds since the epoch (``-inf`` if it does not say).

    Tokens the store issues carry ``iat_ms``, so a pair issued right after a
    revocation (sign out everywhere, then sign in again) is told apart from
    those before it. Otherwise ``iat`` has whole seconds, and a token from the
    second of the revocation is refused too.
    """
    precise = token.get(ISSUED_AT_MS_CLAIM)
    if isinstance(precise, int) and not isinstance(precise, bool):
        return precise / 1000
    issued_at = token.get("iat")
    if isinstance(issued_at, int | float) and not isinstance(issued_at, bool):
        return float(issued_at)
    return float("-inf")


def api_key_list_for_owner(*, owner: User) -> QuerySet[ApiKey]:
    """The keys of ``owner`` that are not revoked, newest first."""
    return ApiKey.objects.filter(owner=owner, revoked_at__isnull=True).order_by("-created_at", "-id")


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    """The key with this public prefix and its owner, in one query."""
    return ApiKey.objects.select_related("owner").filter(prefix=prefix).first()


def api_key_usage(*, api_key: ApiKey, days: int = API_KEY_USAGE_DAYS, now: datetime | None = None) -> list[DayUsage]:
    """Calls of the key per UTC day for the last ``days`` days, today first; days without calls are 0.

    Past days come from ``ApiKeyDailyUsage``; today and the days whose
    counters are still kept come from the live counters, whichever is higher
    (the periodic flush may not have run since the last calls).
    """
    today = quotas.utc_day(now or timezone.now())
    wanted = [today - timedelta(days=back) for back in range(days)]
    counts = dict(
        ApiKeyDailyUsage.objects.filter(api_key=api_key, day__gte=wanted[-1], day__lte=today).values_list(
            "day", "calls"
        )
    )
    live_days = wanted[: quotas.COUNTER_RETENTION.days + 1]
    try:
        live = quotas.counts_for(api_key_ids=[api_key.pk], days=live_days)
    except Exception:  # the counters are unreachable: the stored history still answers
        live = {}
    for (_key_id, day), calls in live.items():
        counts[day] = max(counts.get(day, 0), calls)
    return [DayUsage(date=day, calls=counts.get(day, 0)) for day in wanted]


def address_list(*, user: User) -> QuerySet[Address]:
    """The addresses ``user`` saved, the default first, then oldest first; one query."""
    return Address.objects.filter(user=user).order_by("-is_default", "id")


def address_get_for_user(*, user: User, address_id: int) -> Address | None:
    """One of ``user``'s saved addresses, or ``None`` (also for another user's address)."""
    return Address.objects.filter(user=user, pk=address_id).first()
