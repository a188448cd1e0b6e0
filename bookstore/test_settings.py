"""Settings for the test suite: the real settings plus test-only switches."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijkl")

from bookstore.settings import *  # noqa: F403
from bookstore.settings import DATABASES, REDIS_URL

# Argon2 is deliberately slow; tests that check the hasher enable it themselves.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so threads in concurrency tests share one database
    # and queue on the write lock exactly as gunicorn workers do.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"bookstore-test-{os.getpid()}.sqlite3")
    }

if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}

# Covers written by the tests land in a folder of this test run's own, never in var/media.
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"bookstore-test-media-{os.getpid()}"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "imports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT.with_name(MEDIA_ROOT.name + "-imports"))},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405
WHITENOISE_AUTOREFRESH = True  # serve static files from the finders; no collectstatic in tests

# Tests place many orders per user; the order rate limit's own tests set it explicitly.
ORDER_RATE_LIMIT = os.environ.get("ORDER_RATE_LIMIT", "100000/minute")
# Likewise quotes and refused coupon codes (the fuzzing tries many); tests/security/test_quote_oracle.py sets them.
QUOTE_RATE_LIMIT = os.environ.get("QUOTE_RATE_LIMIT", "100000/minute")
COUPON_FAILURE_RATE_LIMIT = os.environ.get("COUPON_FAILURE_RATE_LIMIT", "100000/minute")
# Tasks sent by the code under test go to an in-process queue nobody consumes; the
# Celery tests start real workers against real brokers in processes of their own.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
