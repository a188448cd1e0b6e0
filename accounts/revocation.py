"""Access tokens that were signed out before they expire: a short denylist of token ids in the shared cache.

An access token is self-contained, so blacklisting its refresh token does not
stop it. ``POST /auth/logout`` therefore puts the access token's ``jti`` into
Django's default cache (Redis in production, shared by every app server) until
the token would have expired anyway; authentication looks it up, one cache
read per JWT request. "Sign out everywhere" needs no list: it moves the user's
``tokens_revoked_at`` forward, which authentication reads from the user row it
loads anyway.

If the cache cannot be reached, authentication lets the token through and logs
a warning (like the rate limits): a cache outage must not sign every user out.
The signed-out token then works until it expires (``JWT_ACCESS_MINUTES``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from rest_framework_simplejwt.settings import api_settings as jwt_settings

logger = logging.getLogger(__name__)

_KEY = "jwt:denied:{jti}"
# An entry outlives its token a little, so clock skew between servers cannot revive it.
_GRACE_SECONDS = 60


def _key(jti: str) -> str:
    return _KEY.format(jti=jti)


def access_token_deny(*, token: Any, now: float | None = None) -> bool:
    """Refuse ``token`` (a validated access token) from now until it expires; False if the cache failed."""
    jti = token.get(jwt_settings.JTI_CLAIM)
    expires = token.get("exp")
    if not jti or not isinstance(expires, int | float):
        return True
    remaining = int(expires - (now if now is not None else time.time()))
    if remaining <= 0:
        return True
    try:
        cache.set(_key(str(jti)), 1, timeout=remaining + _GRACE_SECONDS)
    except Exception:
        logger.warning("access token not denied: shared cache unavailable", exc_info=True)
        return False
    return True


def access_token_is_denied(*, jti: Any) -> bool:
    """Whether the access token with this id was signed out; one cache read, False if the cache failed."""
    if not jti:
        return False
    try:
        return cache.get(_key(str(jti))) is not None
    except Exception:
        logger.warning("signed-out tokens not checked: shared cache unavailable", exc_info=True)
        return False
