"""Ceiling J: the least Django can do per request.

A settings module with no middleware, no installed apps and no DRF: one URL,
one view returning a fixed small JSON document. Served by gunicorn with the
project's gunicorn.conf.py, it measures what the framework and the server cost
before any of the store's code runs.
"""

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "bench-ceiling-json-not-a-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = __name__
DATABASES: dict[str, dict[str, str]] = {}
USE_I18N = False
USE_TZ = True
LOGGING_CONFIG = None

DOCUMENT = {
    "id": 17,
    "isbn": "9780441013593",
    "title": "Dune",
    "price": "9.99",
    "stock": 12,
    "is_active": True,
}


def document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(DOCUMENT)


urlpatterns = [path("", document)]
