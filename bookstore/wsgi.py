"""WSGI entry point for gunicorn: ``bookstore.wsgi:application``."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")


@contextmanager
def _unavailable(*names: str) -> Iterator[None]:
    """Make ``import name`` raise ImportError inside the block, for optional imports the server never uses.

    Afterwards the modules import as usual: code that needs one imports it on its own path.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


# DRF's compat module imports requests when it is installed (stripe depends on it), only for its test client
# ``rest_framework.test.RequestsClient``; with urllib3, charset_normalizer and the CJK codecs that is about
# 3.5 MiB in every worker. stripe imports it when a payment call needs it.
with _unavailable("requests"):
    application = get_wsgi_application()

# Import the URLconf (every view, serializer and filter module) while booting, not in the first request a
# worker serves. With gunicorn's preload_app the master does it once and every worker, including one that
# replaces a recycled worker, is forked ready to answer. No connection is opened here.
get_resolver().url_patterns  # noqa: B018
