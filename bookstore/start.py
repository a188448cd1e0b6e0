"""The start page at ``/``: where a person who opened the store in a browser goes next."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from bookstore.demo import DEMO_STAFF_EMAIL, demo_staff_exists


@require_safe
def start_page(request: HttpRequest) -> HttpResponse:
    context = {
        "store_name": settings.STORE_NAME,
        "admin_url": reverse("admin:index"),
        "docs_url": reverse("docs"),
        "schema_url": reverse("schema"),
        "api_url": reverse("api-root"),
        # The email only: the password is printed once by `make run` and never shown again.
        "demo_staff_email": DEMO_STAFF_EMAIL if demo_staff_exists() else "",
    }
    return render(request, "bookstore/start.html", context)
