"""bookstore.cache.RedisCache: Django's Redis cache without memcached key checks."""

from __future__ import annotations

import warnings

import pytest
from django.core.cache.backends.base import CacheKeyWarning
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from bookstore.cache import RedisCache

#: What memcached refuses and Django warns about: spaces, and more than 250 characters.
AWKWARD_KEY = "catalog:doc:list:" + "a key with spaces " * 20


def test_django_would_warn_about_this_key():
    backend = DjangoRedisCache("redis://127.0.0.1:6379/2", {})  # no connection is made
    with pytest.warns(CacheKeyWarning):
        backend.make_and_validate_key(AWKWARD_KEY)


def test_the_stores_backend_makes_the_same_key_without_checking_it():
    backend = RedisCache("redis://127.0.0.1:6379/2", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        key = backend.make_and_validate_key(AWKWARD_KEY)
    assert key == DjangoRedisCache("redis://127.0.0.1:6379/2", {}).make_key(AWKWARD_KEY)
