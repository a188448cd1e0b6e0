"""Personal data: everything the shop holds on a user, exported or erased in one place.

The accounts app knows the account, its addresses, tokens, API keys and the
emails sent to it. Apps above it (orders) hold more, and ``accounts`` must not
import them; they register a ``Section`` here instead (in their
``AppConfig.ready``) that exports their part, checks whether an erasure may
go ahead and erases their part. ``user_erase`` runs every section's check,
then every section's eraser and the account's own erasure in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.exceptions import CurrentPasswordIncorrect
from accounts.models import Address, ApiKey, User
from accounts.services import ADDRESS_FIELDS, user_credentials_revoke
from notifications.services import email_list_to, emails_erase

#: Secrets never leave the database, not even to their owner.
_API_KEY_HIDDEN_FIELDS = frozenset({"digest", "owner"})


@dataclass(frozen=True)
class Section:
    """One app's part of a user's personal data."""

    name: str
    export: Callable[[User], Any]
    """What the app holds on the user, as JSON-ready data."""
    check_erase: Callable[[User], None] = lambda user: None
    """Raise a ``DomainError`` (e.g. ``Conflict``) if the user's data cannot be erased now."""
    erase: Callable[[User, Any], None] = lambda user, by: None
    """Erase or anonymise the app's part; called with the user's row locked, and who asked."""


_SECTIONS: dict[str, Section] = {}


def section_register(section: Section) -> None:
    """Add (or replace, on reload) an app's section; the export shows it under ``section.name``."""
    _SECTIONS[section.name] = section


def sections() -> list[Section]:
    return list(_SECTIONS.values())


def erased_email(user: User) -> str:
    """The unique placeholder that replaces an erased user's email address (``.invalid`` never delivers)."""
    return f"erased-{user.pk}@erased.invalid"


def is_erased(user: User) -> bool:
    return user.email == erased_email(user)


# --- Export -----------------------------------------------------------------------


def _api_key_data(api_key: ApiKey) -> dict[str, Any]:
    return {
        field.name: getattr(api_key, field.attname)
        for field in ApiKey._meta.concrete_fields
        if field.name not in _API_KEY_HIDDEN_FIELDS
    }


def user_export(*, user: User) -> dict[str, Any]:
    """Everything the shop holds on ``user``: the account and each app's section (JSON-ready)."""
    data: dict[str, Any] = {
        "exported_at": timezone.now(),
        "account": {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "is_staff": user.is_staff,
            "is_active": user.is_active,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        },
        "addresses": [
            {
                "id": address.pk,
                **{name: str(getattr(address, name)) for name in ADDRESS_FIELDS},
                "is_default": address.is_default,
                "created_at": address.created_at,
                "updated_at": address.updated_at,
            }
            for address in Address.objects.filter(user=user).order_by("id")
        ],
        "sessions": [
            {
                "created_at": token.created_at,
                "expires_at": token.expires_at,
                "revoked": hasattr(token, "blacklistedtoken"),
            }
            for token in OutstandingToken.objects.filter(user=user).select_related("blacklistedtoken").order_by("id")
        ],
        "api_keys": [_api_key_data(key) for key in ApiKey.objects.filter(owner=user).order_by("id")],
        "emails": email_list_to(to=user.email),
    }
    for section in sections():
        data[section.name] = section.export(user)
    return data


# --- Erasure ----------------------------------------------------------------------


def user_erase(*, user: User, by: Any) -> User:
    """Close ``user``'s account and erase their personal data; their orders stay, anonymised.

    First every section may refuse (``orders``: paid orders not yet delivered
    → ``AccountHasOpenOrders``, 409) and nothing changes. Then each section
    erases its part (``orders`` cancels pending orders and anonymises the
    address copies), saved addresses are deleted, emails to the user are
    blanked, and the account is closed: inactive, no usable password, no staff
    rights, name empty, email replaced by a unique placeholder, every token
    and API key revoked. ``by`` is who asked (the user, or staff in the admin).
    Erasing an erased account again changes nothing.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        for section in sections():
            section.check_erase(locked)
        for section in sections():
            section.erase(locked, by)
        Address.objects.filter(user=locked).delete()
        replacement = erased_email(locked)
        emails_erase(to=locked.email, replacement=replacement)
        locked.email = replacement
        locked.first_name = ""
        locked.last_name = ""
        locked.is_active = False
        locked.is_staff = False
        locked.is_superuser = False
        locked.last_login = None
        locked.set_unusable_password()
        locked.save(
            update_fields=[
                "email",
                "first_name",
                "last_name",
                "is_active",
                "is_staff",
                "is_superuser",
                "last_login",
                "password",
            ]
        )
        locked.groups.clear()
        locked.user_permissions.clear()
        user_credentials_revoke(user=locked)
    return locked


def user_close(*, user: User, password: str) -> User:
    """The user closes their own account (``DELETE /users/me``): their password, then ``user_erase``."""
    if not user.check_password(password):
        raise CurrentPasswordIncorrect(field="password")
    return user_erase(user=user, by=user)
