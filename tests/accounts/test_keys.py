"""The API key format and its verification (pure functions, no database)."""

from __future__ import annotations

import hashlib
import re

import pytest

from accounts import keys

KEY_RE = re.compile(r"^bk_(?P<prefix>[A-Za-z0-9]{8})_(?P<secret>[A-Za-z0-9_-]{43,})$")


def test_generated_key_has_the_documented_format_and_its_digest():
    generated = keys.generate_key()
    match = KEY_RE.match(generated.key)
    assert match, generated.key
    assert match["prefix"] == generated.prefix
    # secrets.token_urlsafe(32): 32 random bytes, 43 base64url characters.
    assert len(match["secret"]) == 43
    assert generated.digest == hashlib.sha256(generated.key.encode()).hexdigest()


def test_generated_keys_differ():
    generated = [keys.generate_key() for _ in range(50)]
    assert len({g.key for g in generated}) == 50
    assert len({g.prefix for g in generated}) == 50


def test_parse_prefix_of_a_generated_key():
    generated = keys.generate_key()
    assert keys.parse_prefix(generated.key) == generated.prefix


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "bk",
        "bk_",
        "bk_abcdefgh",
        "bk_abcdefgh_",
        "xx_abcdefgh_secret",
        "bk_abcdefg_secret",  # 7-character prefix
        "bk_abcdefghi_secret",  # 9-character prefix
        "bk_abc-efgh_secret",  # not letters/digits
        "bk_abcdéfgh_secret",
    ],
)
def test_parse_prefix_rejects_malformed_keys(raw):
    assert keys.parse_prefix(raw) is None


def test_secret_may_contain_underscores():
    assert keys.parse_prefix("bk_abcdefgh_sec_ret") == "abcdefgh"


def test_key_matches_only_the_exact_key():
    generated = keys.generate_key()
    assert keys.key_matches(generated.key, generated.digest)
    assert not keys.key_matches(generated.key + "x", generated.digest)
    assert not keys.key_matches(generated.key[:-1], generated.digest)
    assert not keys.key_matches(keys.generate_key().key, generated.digest)
