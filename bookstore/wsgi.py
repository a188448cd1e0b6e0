"""WSGI entry point for gunicorn: ``bookstore.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from bookstore.admin_urls import discover_on_first_use
from bookstore.optional_imports import unavailable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

# DRF's compat module imports requests and PyYAML when they are installed: requests only for its test client
# (``rest_framework.test.RequestsClient``), PyYAML for its own OpenAPI renderer, which the store does not use
# (drf-spectacular renders the schema). requests, with urllib3, charset_normalizer and the CJK codecs, is about
# 3.5 MiB in every worker; stripe imports it when a payment call needs it, the schema's YAML form imports PyYAML.
# The admin's modules load with a worker's first admin request, not in every worker at start.
discover_on_first_use()
with unavailable("requests", "yaml"):
    application = get_wsgi_application()

# Import the URLconf (every view, serializer and filter module) while booting, not in the first request a
# worker serves. With gunicorn's preload_app the master does it once and every worker, including one that
# replaces a recycled worker, is forked ready to answer. No connection is opened here.
get_resolver().url_patterns  # noqa: B018
