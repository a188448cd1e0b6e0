"""Which scope an API call needs, so that a scoped API key can be held to its scopes.

A view of the ``catalog`` app needs ``catalog:read`` to read (GET, HEAD,
OPTIONS) and ``catalog:write`` for anything else; likewise ``orders:*`` for
the ``orders`` app (orders, coupons, discount tiers, shipping methods). A view
lists actions that only compute an answer (e.g. the order quote) in
``api_key_read_actions``; they need the read scope whatever their method.

Every other route needing authentication is about the signed-in account
itself (``/users/me``, its addresses, its password, logout): it belongs to no
scope, and only a key holding every scope (the default) may call it.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS

#: The apps whose views a scope covers.
SCOPED_AREAS = ("catalog", "orders")


def required_scope(view: Any, method: str) -> str | None:
    """The scope a call of ``view`` with ``method`` needs, or ``None`` for the account's own routes."""
    area = type(view).__module__.partition(".")[0]
    if area not in SCOPED_AREAS:
        return None
    action = getattr(view, "action", None)
    if method in SAFE_METHODS or (action is not None and action in getattr(view, "api_key_read_actions", ())):
        return f"{area}:read"
    return f"{area}:write"


def key_may_call(*, scopes: list[str] | tuple[str, ...], needed: str | None, every_scope: bool) -> bool:
    """Whether a key holding ``scopes`` may make a call needing ``needed`` (``None``: every scope)."""
    return every_scope if needed is None else needed in scopes
