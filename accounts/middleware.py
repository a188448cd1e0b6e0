"""Response headers that belong to the API-key call a response answers."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.authentication import QUOTA_STATE_ATTRIBUTE


class ApiKeyRateLimitHeadersMiddleware:
    """Adds ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` to every response to an API-key call.

    ``ApiKeyAuthentication`` leaves the key's quota state on the request; this
    middleware copies it onto the response, whatever its status (``200``,
    ``403`` outside the key's scopes, ``429`` over its quota, ``404`` ...).
    A key without a quota answers ``unlimited`` for the limit and the remaining
    calls; ``X-RateLimit-Reset`` is the Unix time of the next midnight UTC.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state = getattr(request, QUOTA_STATE_ATTRIBUTE, None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
