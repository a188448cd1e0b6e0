"""Writes of the accounts app: registration, tokens, passwords and API keys."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode

from celery import current_app
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import key_cache, keys, quotas
from accounts.exceptions import (
    ApiKeyExpiryInvalid,
    ApiKeyOwnerNotAllowed,
    ApiKeyQuotaInvalid,
    ApiKeyRejected,
    ApiKeyScopesInvalid,
    CurrentPasswordIncorrect,
    EmailAlreadyRegistered,
    InvalidCredentials,
    PasswordRejected,
    PasswordResetTokenInvalid,
    PostalCodeRejected,
    RefreshTokenRejected,
    TokenRejected,
)
from accounts.models import ALL_API_KEY_SCOPES, Address, ApiKey, ApiKeyDailyUsage, User, normalize_email
from accounts.postal_codes import PostalCodeInvalid, postal_code_normalize
from accounts.revocation import access_token_deny
from accounts.selectors import ISSUED_AT_MS_CLAIM, api_key_get_by_prefix, user_get_for_token
from notifications.services import email_queue

logger = logging.getLogger(__name__)

# ``last_used_at`` is informational; writing it on every request would turn
# each authenticated read into a write.
API_KEY_LAST_USED_RESOLUTION = timedelta(seconds=60)
_PREFIX_ATTEMPTS = 3


class TokenPair(NamedTuple):
    access: str
    refresh: str


class CreatedApiKey(NamedTuple):
    api_key: ApiKey
    key: str
    """The full key; it exists only here and is never stored."""


# --- Users --------------------------------------------------------------------


def _password_check(*, password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise PasswordRejected(*exc.messages, field=field) from exc


def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a customer account.

    The email is unique case-insensitively (stored lower-cased) and the
    password must pass Django's password validators.
    """
    email = normalize_email(email)
    user = User(email=email, first_name=first_name, last_name=last_name)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailAlreadyRegistered()
    _password_check(password=password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the unique constraint
        raise EmailAlreadyRegistered() from exc
    return user


def user_update(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change the caller's name; ``None`` leaves a field as it is."""
    fields = {"first_name": first_name, "last_name": last_name}
    changed = [name for name, value in fields.items() if value is not None]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        with transaction.atomic():
            user.save(update_fields=changed)
    return user


def user_password_change(*, user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; signs the user out everywhere.

    Every outstanding refresh token of the user is blacklisted, and access
    tokens issued before the change stop working (they carry a hash of the
    old password, see ``SIMPLE_JWT["CHECK_REVOKE_TOKEN"]``).
    """
    if not user.check_password(current_password):
        raise CurrentPasswordIncorrect()
    _password_check(password=new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_revoke(user=user)


def user_deactivate(*, user: User) -> User:
    """Deactivate ``user`` and end every session they had (``user_credentials_revoke``)."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        user_credentials_revoke(user=user)
    return user


def user_credentials_revoke(*, user: User) -> None:
    """End every API session of ``user``: JWTs issued so far, refresh tokens and API keys.

    Refresh tokens are blacklisted, API keys revoked, and every JWT issued up
    to now is refused (``tokens_revoked_at``). Called whenever a user is
    deactivated (``user_deactivate``, the admin), so that reactivating the
    account later does not bring its old tokens and keys back to life.
    """
    with transaction.atomic():
        user.tokens_revoked_at = timezone.now()
        user.save(update_fields=["tokens_revoked_at"])
        user_tokens_revoke(user=user)
        api_keys_revoke(api_keys=ApiKey.objects.filter(owner=user))


def user_tokens_revoke(*, user: User) -> int:
    """Blacklist every refresh token of ``user`` that has not expired; returns how many."""
    with transaction.atomic():
        outstanding = OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
        created = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
        )
    return len(created)


# --- JWT ----------------------------------------------------------------------


def _token_pair_for(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    # Copied into the access token; lets a sign-out-everywhere tell this pair from older ones.
    refresh[ISSUED_AT_MS_CLAIM] = int(refresh.current_time.timestamp() * 1000)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def token_pair_obtain(*, email: str, password: str, request: HttpRequest | None = None) -> TokenPair:
    """Log in with email and password: a new access and refresh token.

    Wrong credentials and inactive users get the same ``InvalidCredentials``.
    """
    user = authenticate(request, email=normalize_email(email), password=password)
    if not isinstance(user, User) or not user.is_active:
        raise InvalidCredentials()
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        return _token_pair_for(user)


def token_pair_for_oidc(*, email: str, first_name: str = "", last_name: str = "") -> TokenPair:
    """Sign in someone whose email an OpenID Connect provider verified: their account, created if new.

    The account is matched by the email, ignoring case. A new account is a
    customer with no password (``set_unusable_password``); they can keep
    signing in with the provider. A deactivated account stays closed, and a
    staff account signs in with its password only (both ``InvalidCredentials``).
    """
    email = normalize_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        candidate = User(email=email, first_name=first_name, last_name=last_name)
        candidate.set_unusable_password()
        try:
            with transaction.atomic():
                candidate.save()
            user = candidate
        except IntegrityError:  # a concurrent first sign-in created it
            user = User.objects.get(email__iexact=email)
    if not user.is_active:
        raise InvalidCredentials("This account is closed.")
    if user.is_staff or user.is_superuser:
        # An account at an outside provider that happens to carry a staff member's email must
        # not hand out the shop's staff rights: staff sign in with their password.
        raise InvalidCredentials("Staff accounts sign in with their password.")
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        return _token_pair_for(user)


def _refresh_token_parse(raw: str) -> RefreshToken:
    """A refresh token whose signature, expiry and type are valid and that is not blacklisted."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenRejected() from exc


def token_pair_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted.

    The outstanding token row is locked, so of two concurrent refreshes with
    the same token exactly one succeeds; presenting a used token again is
    ``TokenRejected``.
    """
    token = _refresh_token_parse(refresh)
    user = user_get_for_token(token=token)
    if user is None:
        raise TokenRejected()
    with transaction.atomic():
        try:
            # get() drops the model's ordering by user, whose outer join FOR UPDATE cannot lock.
            outstanding = OutstandingToken.objects.select_for_update().get(jti=token[jwt_settings.JTI_CLAIM])
        except OutstandingToken.DoesNotExist as exc:  # we record every refresh token we issue
            raise TokenRejected() from exc
        _, blacklisted_now = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not blacklisted_now:
            raise TokenRejected()
        return _token_pair_for(user)


def refresh_token_revoke(*, user: User, refresh: str, access: Any = None) -> None:
    """Log out: blacklist ``refresh``, which must be a valid refresh token of ``user``.

    ``access``, the validated access token the request came with (if any), is
    denied from now until it expires (``accounts.revocation``), so the session
    ends on every server at once and not when the token runs out.
    """
    try:
        token = _refresh_token_parse(refresh)
    except TokenRejected as exc:
        raise RefreshTokenRejected() from exc
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(getattr(user, jwt_settings.USER_ID_FIELD)):
        raise RefreshTokenRejected()
    with transaction.atomic():
        token.blacklist()
    if access is not None:
        access_token_deny(token=access)


def user_sign_out_everywhere(*, user: User) -> int:
    """End every session of ``user``: refresh tokens blacklisted, access tokens issued so far refused.

    Access tokens are refused through ``tokens_revoked_at``, which
    authentication reads from the user row it loads anyway (no extra query);
    the tokens issued after this call work. API keys are not sessions and
    stay. Returns how many refresh tokens were revoked.
    """
    with transaction.atomic():
        user.tokens_revoked_at = timezone.now()
        user.save(update_fields=["tokens_revoked_at"])
        return user_tokens_revoke(user=user)


# --- API keys -----------------------------------------------------------------


def api_key_validate(*, owner: User, expires_at: datetime | None, now: datetime | None = None) -> None:
    """The rules a new key must meet; the admin form checks them before saving."""
    if not (owner.is_active and owner.is_staff):
        raise ApiKeyOwnerNotAllowed()
    if expires_at is not None and expires_at <= (now or timezone.now()):
        raise ApiKeyExpiryInvalid()


def api_key_scopes_clean(scopes: list[str] | tuple[str, ...] | None) -> list[str]:
    """The scopes of a new key, known and without repeats, in the canonical order; ``None``: every scope."""
    if scopes is None:
        return list(ALL_API_KEY_SCOPES)
    unknown = sorted(set(scopes) - set(ALL_API_KEY_SCOPES))
    if unknown:
        raise ApiKeyScopesInvalid(f"Unknown scope(s): {', '.join(unknown)}. Scopes: {', '.join(ALL_API_KEY_SCOPES)}.")
    if not scopes:
        raise ApiKeyScopesInvalid("A key needs at least one scope.")
    return [scope for scope in ALL_API_KEY_SCOPES if scope in scopes]


def api_key_create(
    *,
    owner: User,
    name: str,
    expires_at: datetime | None = None,
    scopes: list[str] | tuple[str, ...] | None = None,
    daily_quota: int | None = None,
) -> CreatedApiKey:
    """Issue a key for a staff member; the full key is returned here and nowhere else.

    ``scopes`` defaults to every scope (the key may do all its owner may);
    ``daily_quota`` (calls per UTC day) to none.
    """
    now = timezone.now()
    api_key_validate(owner=owner, expires_at=expires_at, now=now)
    clean_scopes = api_key_scopes_clean(scopes)
    if daily_quota is not None and daily_quota < 1:
        raise ApiKeyQuotaInvalid()
    for attempt in range(_PREFIX_ATTEMPTS):
        generated = keys.generate_key()
        api_key = ApiKey(
            owner=owner,
            name=name,
            prefix=generated.prefix,
            digest=generated.digest,
            created_at=now,
            expires_at=expires_at,
            scopes=clean_scopes,
            daily_quota=daily_quota,
        )
        try:
            with transaction.atomic():
                api_key.save()
        except IntegrityError:
            # 62**8 prefixes make a clash very unlikely, but it must not become a 500.
            if attempt == _PREFIX_ATTEMPTS - 1:
                raise
            continue
        return CreatedApiKey(api_key=api_key, key=generated.key)
    raise AssertionError("unreachable")


def api_keys_revoke(*, api_keys: QuerySet[ApiKey]) -> int:
    """Revoke the given keys at once; already revoked keys keep their date. Returns how many changed."""
    with transaction.atomic():
        changing = api_keys.filter(revoked_at__isnull=True)
        # Before the update and again after the commit: no server keeps serving them from the cache.
        key_cache.forget(prefixes=changing.values_list("prefix", flat=True))
        return changing.update(revoked_at=timezone.now())


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke one key; it fails authentication from the next request on."""
    api_keys_revoke(api_keys=ApiKey.objects.filter(pk=api_key.pk))
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_mark_used(*, api_key: ApiKey, now: datetime, loaded_is_current: bool = True) -> None:
    """Record that the key was used, at most once per minute per key.

    The time check in Python spares the write on most requests (unless the
    key was not read from the database just now: ``loaded_is_current=False``,
    a key from the shared cache, whose Redis marker already allows one write a
    minute); the conditional UPDATE keeps concurrent workers from writing it twice.
    """
    threshold = now - API_KEY_LAST_USED_RESOLUTION
    if loaded_is_current and api_key.last_used_at is not None and api_key.last_used_at >= threshold:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=threshold)).update(
        last_used_at=now
    )
    api_key.last_used_at = now


def api_key_authenticate(*, key: str) -> ApiKey:
    """The usable key matching ``key``, its owner loaded; ``ApiKeyRejected`` otherwise.

    Rejected: unknown or malformed keys, revoked or expired keys, and keys
    whose owner is no longer active staff. One query, plus the occasional
    ``last_used_at`` write.
    """
    prefix = keys.parse_prefix(key)
    api_key = api_key_get_by_prefix(prefix=prefix) if prefix else None
    now = timezone.now()
    if api_key is None or not api_key_usable(api_key=api_key, key=key, now=now):
        raise ApiKeyRejected()
    api_key_mark_used(api_key=api_key, now=now)
    return api_key


def api_key_usable(*, api_key: ApiKey, key: str, now: datetime) -> bool:
    """Whether ``key`` is this key's secret, and the key neither revoked nor expired nor its owner unfit."""
    return (
        keys.key_matches(key, api_key.digest)
        and not api_key.is_revoked
        and not api_key.is_expired(now=now)
        and api_key.owner.is_active
        and api_key.owner.is_staff
    )


def api_key_usage_flush(*, now: datetime | None = None) -> int:
    """Copy the live daily call counters of recently used keys into ``ApiKeyDailyUsage``; returns rows written.

    Covers today and the days whose counters are still kept
    (``quotas.COUNTER_RETENTION``), so a day's final count is stored after it
    ends. Counters only grow, so a row never goes down: running the job twice,
    or after the counters were lost, changes nothing for the worse.
    """
    now = now or timezone.now()
    today = quotas.utc_day(now)
    days = [today - timedelta(days=back) for back in range(quotas.COUNTER_RETENTION.days + 1)]
    # last_used_at is written at most once a minute, so it may lag a call by that much.
    since = datetime.combine(days[-1], datetime.min.time(), tzinfo=UTC) - API_KEY_LAST_USED_RESOLUTION
    key_ids = list(ApiKey.objects.filter(last_used_at__gte=since).values_list("pk", flat=True))
    live = quotas.counts_for(api_key_ids=key_ids, days=days)
    if not live:
        return 0
    stored = {
        (row.api_key_id, row.day): row.calls
        for row in ApiKeyDailyUsage.objects.filter(api_key_id__in=key_ids, day__in=days)
    }
    rows = [
        ApiKeyDailyUsage(api_key_id=key_id, day=day, calls=calls)
        for (key_id, day), calls in live.items()
        if calls > stored.get((key_id, day), -1)
    ]
    with transaction.atomic():
        ApiKeyDailyUsage.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["api_key", "day"], update_fields=["calls"]
        )
    return len(rows)


def jwt_tokens_flush_expired(*, now: datetime | None = None) -> int:
    """Delete refresh tokens that have expired, with their blacklist entries; returns how many.

    An expired token is refused whatever the tables say, so its rows only
    take space (simplejwt's ``flushexpiredtokens``, as a service).
    """
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


# --- Addresses ----------------------------------------------------------------

#: The fields of a postal address, as saved here and as copied onto an order.
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "region", "country", "phone")


def address_clean(*, fields: Mapping[str, Any], field_prefix: str = "") -> dict[str, str]:
    """The address ``fields`` (all of ``ADDRESS_FIELDS``) with the postal code checked and normalised.

    The postal code must have its country's format where that is well known
    (``accounts.postal_codes``); errors name ``<field_prefix>postal_code``.
    """
    cleaned = {name: str(fields.get(name) or "").strip() for name in ADDRESS_FIELDS}
    cleaned["country"] = cleaned["country"].upper()
    try:
        cleaned["postal_code"] = postal_code_normalize(country=cleaned["country"], postal_code=cleaned["postal_code"])
    except PostalCodeInvalid as exc:
        raise PostalCodeRejected(str(exc), field=f"{field_prefix}postal_code") from exc
    return cleaned


def _address_save(*, address: Address, is_default: bool) -> Address:
    with transaction.atomic():
        # The user's row serialises changes of their default, so the one-default
        # constraint never fails between two concurrent requests.
        User.objects.select_for_update().filter(pk=address.user_id).first()
        if is_default:
            Address.objects.filter(user_id=address.user_id, is_default=True).exclude(pk=address.pk).update(
                is_default=False
            )
        address.is_default = is_default
        address.save()
    return address


def address_create(*, user: User, is_default: bool = False, **fields: Any) -> Address:
    """Save a new address for ``user``; ``is_default`` makes it the default instead of any other."""
    address = Address(user=user, **address_clean(fields=fields))
    return _address_save(address=address, is_default=is_default)


def address_update(*, address: Address, is_default: bool | None = None, **fields: Any) -> Address:
    """Change some fields of ``address``; the postal code is checked against the resulting country."""
    current = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    for name, value in address_clean(fields={**current, **fields}).items():
        setattr(address, name, value)
    return _address_save(address=address, is_default=address.is_default if is_default is None else is_default)


def address_delete(*, address: Address) -> None:
    """Delete a saved address; orders keep their own copy of it."""
    address.delete()


# --- Password reset -------------------------------------------------------------

PASSWORD_RESET_TASK = "accounts.password_reset_email"  # noqa: S105 (a task name)
PASSWORD_RESET_TEMPLATE = "accounts/email/password_reset"  # noqa: S105 (a template name)


def password_reset_request(*, email: str) -> None:
    """Start a password reset for ``email``: the same work whether or not an account has it.

    The request only hands the address to a background task
    (``password_reset_email_send``), which looks the account up and queues the
    email. So the answer, and the time it takes, say nothing about whether the
    address is registered. If the broker cannot be reached, nothing is sent
    (logged); the customer asks again.
    """
    try:
        current_app.send_task(PASSWORD_RESET_TASK, kwargs={"email": normalize_email(email)})
    except Exception:
        logger.warning("password reset not started: broker unavailable", exc_info=True)


def password_reset_link(*, user: User) -> str:
    """The frontend's reset page for ``user`` with a fresh one-time token (``FRONTEND_URL`` + ``PASSWORD_RESET_PATH``)."""
    query = urlencode(
        {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)}
    )
    return f"{settings.FRONTEND_URL}{settings.PASSWORD_RESET_PATH}?{query}"


def password_reset_email_send(*, email: str) -> bool:
    """Queue the reset email for the active account with ``email``; False when there is none (nothing sent)."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        return False
    link = password_reset_link(user=user)
    with transaction.atomic():
        email_queue(
            to=user.email,
            template=PASSWORD_RESET_TEMPLATE,
            context={
                "user": user,
                "link": link,
                "valid_minutes": max(settings.PASSWORD_RESET_TIMEOUT // 60, 1),
            },
            # The same link twice (a task run again) is one email.
            key=f"password-reset:{hashlib.sha256(link.encode()).hexdigest()}",
        )
    return True


_UID_MAX_DIGITS = 18  # fits a 64-bit primary key on every database


def _password_reset_user(uid: str) -> User | None:
    try:
        decoded = urlsafe_base64_decode(uid).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if not decoded.isdigit() or len(decoded) > _UID_MAX_DIGITS:
        return None
    return User.objects.select_for_update().filter(pk=int(decoded), is_active=True).first()


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password with an emailed token; the token works once and expires.

    Django's ``PasswordResetTokenGenerator``: the token is an HMAC over the
    user's password hash, last login and the time it was made, so setting the
    password spends it, and it expires after ``PASSWORD_RESET_TIMEOUT``. The
    user's row is locked, so of two concurrent uses exactly one succeeds.
    Every refresh token of the user is revoked; access tokens issued before
    stop working because they carry a hash of the old password.
    """
    with transaction.atomic():
        user = _password_reset_user(uid)
        if user is None or not default_token_generator.check_token(user, token):
            raise PasswordResetTokenInvalid()
        _password_check(password=new_password, user=user, field="new_password")
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_revoke(user=user)
    return user
