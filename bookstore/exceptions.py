"""Domain error bases every app raises; no DRF here, so any layer may import them.

``bookstore.errors`` (the one exception handler) maps them to the error envelope:
``status_code`` becomes the HTTP status, ``code``/``message``/``details`` the body.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every business-rule failure; subclasses set ``status_code`` and ``code``."""

    status_code = 400
    code = "error"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state of the resource."
