"""API key format, generation and verification; pure functions, no models.

A key looks like ``bk_<prefix>_<secret>``: ``prefix`` is 8 letters/digits,
public, stored and used to find the key; ``secret`` is
``secrets.token_urlsafe(32)`` (256 random bits). Only a SHA-256 digest of the
whole key is stored: a key this random cannot be guessed from its digest, so it
needs no slow password hash, and the lookup by prefix plus one constant-time
comparison keeps authentication to a single query.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import NamedTuple

KEY_SCHEME = "bk"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
_PREFIX_ALPHABET = string.ascii_letters + string.digits


class GeneratedKey(NamedTuple):
    key: str
    prefix: str
    digest: str


def key_digest(key: str) -> str:
    """SHA-256 hex digest of the whole key."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> GeneratedKey:
    """A fresh random key, its public prefix and its digest."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return GeneratedKey(key=key, prefix=prefix, digest=key_digest(key))


def parse_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, or ``None`` for anything else."""
    scheme, sep, rest = key.partition("_")
    prefix, sep2, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not sep or not sep2 or not secret:
        return None
    if len(prefix) != PREFIX_LENGTH or any(char not in _PREFIX_ALPHABET for char in prefix):
        return None
    return prefix


def key_matches(key: str, digest: str) -> bool:
    """Whether ``key`` hashes to the stored ``digest``, compared in constant time."""
    return hmac.compare_digest(key_digest(key), digest)
