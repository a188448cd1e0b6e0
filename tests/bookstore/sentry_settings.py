"""The production settings with a URLconf that has failing views (for the Sentry test's server)."""

from bookstore.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bookstore.urls_sentry"
