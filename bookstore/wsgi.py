"""WSGI entry point for gunicorn: ``bookstore.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

application = get_wsgi_application()

# Import the URLconf (every view, serializer and filter module) while booting, not in the first request a
# worker serves. With gunicorn's preload_app the master does it once and every worker, including one that
# replaces a recycled worker, is forked ready to answer. No connection is opened here.
get_resolver().url_patterns  # noqa: B018
