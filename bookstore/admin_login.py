"""Rate limit on the admin login form, per client address, shared with the API's auth endpoints.

Every login attempt (``POST /admin/login/``) counts against
``settings.AUTH_RATE_LIMIT`` for the client's address (``accounts.throttling.client_ip``),
on the same counter as ``POST /api/v1/auth/token`` and the other auth endpoints
(``AuthRateThrottle``): one budget per address, wherever the passwords are tried.
Counts live in the shared cache, so the limit holds across worker processes and servers.
Over the limit the form answers ``429`` with ``Retry-After`` before any
password is checked. Like the API limits it fails open, with a logged warning,
when the cache is unreachable.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from accounts.throttling import AuthRateThrottle


@never_cache
def login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin site's login view behind the per-address attempt limit."""
    if request.method == "POST":
        throttle = AuthRateThrottle()
        if not throttle.allow_request(request, None):
            retry_after = max(1, math.ceil(throttle.wait() or 1))
            response = HttpResponse(
                f"Too many login attempts from your address. Try again in {retry_after} seconds.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(retry_after)
            return response
    return admin.site.login(request, extra_context)
