"""Error reporting to Sentry, with personal data kept out of every event.

``sentry_init`` runs from settings when ``SENTRY_DSN`` is set. Sentry's own
defaults already leave out user details, cookies and client IPs
(``send_default_pii=False``) and mask keys such as ``password``;
``scrub_event`` removes what remains: credentials in headers, request bodies,
and any email address anywhere in the event (exception messages, breadcrumbs,
query strings).
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations import DidNotEnable, Integration
from sentry_sdk.integrations.django import DjangoIntegration

# Also matches addresses percent-encoded in URLs and query strings (``%40`` for ``@``).
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)
SCRUBBED = "[Filtered]"
# Headers that carry credentials or session state (compared lower-case).
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-csrftoken", "x-forwarded-for"}
)


def _scrub_value(value: Any) -> Any:
    """Replace email addresses in every string of a nested structure."""
    if isinstance(value, str):
        return EMAIL_RE.sub(SCRUBBED, value)
    if isinstance(value, dict):
        return {key: _scrub_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send``: strip credentials, cookies, bodies and email addresses from ``event``."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: (SCRUBBED if name.lower() in SENSITIVE_HEADERS else value) for name, value in headers.items()
            }
    user = event.get("user")
    if isinstance(user, dict):
        # Keep the id (to count affected users); drop email, username and IP.
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return _scrub_value(event)


def _integrations() -> list[Integration]:
    integrations: list[Integration] = [DjangoIntegration()]
    try:
        from sentry_sdk.integrations.celery import CeleryIntegration
    except DidNotEnable:  # Celery not installed
        return integrations
    integrations.append(CeleryIntegration())
    return integrations


def sentry_init(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    """Start reporting errors (web requests and Celery tasks) to ``dsn``."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=_integrations(),
        send_default_pii=False,
        # Frame locals can hold anything (a user, a token); the stack trace alone says where.
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
    )
