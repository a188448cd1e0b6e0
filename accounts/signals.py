"""Keep the shared cache of usable API keys (``accounts.key_cache``) true to the database.

Any save or delete of a key, and any save of its owner (deactivation,
demotion, erasure, a changed name), forgets the cached records, so the next
call on every server reads the database. The revoke services, which update
keys in bulk, forget them themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import key_cache
from accounts.models import ApiKey, User

#: User saves that cannot change what a key may do (a sign-in stamps ``last_login``).
_IRRELEVANT_USER_UPDATES = frozenset({"last_login"})


@receiver(post_save, sender=ApiKey, dispatch_uid="accounts.api_key_saved")
@receiver(post_delete, sender=ApiKey, dispatch_uid="accounts.api_key_deleted")
def api_key_changed(sender: type[ApiKey], instance: ApiKey, created: bool = False, **kwargs: Any) -> None:
    if not created:  # a new key has nothing cached (a tombstone would only keep it out for a minute)
        key_cache.forget(prefixes=[instance.prefix])


@receiver(post_save, sender=User, dispatch_uid="accounts.user_saved")
def user_changed(sender: type[User], instance: User, created: bool = False, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if created or (update_fields is not None and set(update_fields) <= _IRRELEVANT_USER_UPDATES):
        return
    key_cache.forget_owner(user_id=instance.pk)
