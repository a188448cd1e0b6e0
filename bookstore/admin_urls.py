"""The admin's URLs; in a web worker, the admin modules load with the first admin request (README, "Worker memory").

Django's admin imports every app's ``admin`` module when it is set up (``autodiscover``), and its URL patterns
are built from what those modules registered. A worker that only answers the API never needs them: about
2 MiB of model admins, forms, actions and views per worker. The WSGI entry point (``bookstore.wsgi``) asks
for discovery on first use before Django is set up; everywhere else (management commands, Celery workers,
``runserver``, tests) the admin is discovered at start as usual, so its system checks still see every model
admin.

The patterns are a sequence built on first use: resolving a path under ``admin/`` or reversing any URL
(which indexes every pattern) discovers the admin modules, then builds ``admin.site``'s URLs, once per
process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, overload

#: The site's URL namespace, ``admin.site.name`` (``reverse("admin:index")``).
NAMESPACE = "admin"

_discover_on_first_use = False


def discover_on_first_use() -> None:
    """Leave the admin modules unloaded until an admin URL is resolved or a URL reversed.

    Call before Django is set up (``StoreAdminConfig.ready`` reads it).
    """
    global _discover_on_first_use
    _discover_on_first_use = True


def discovered_on_first_use() -> bool:
    return _discover_on_first_use


class AdminPatterns(Sequence[Any]):
    """``admin.site``'s URL patterns, built from the registered model admins when first read."""

    def __init__(self) -> None:
        self._patterns: list[Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> list[Any]:
        patterns = self._patterns
        if patterns is None:
            with self._lock:
                if self._patterns is None:
                    from django.contrib import admin

                    admin.autodiscover()  # imports each app's admin module once; a second call does nothing
                    self._patterns = admin.site.get_urls()
                patterns = self._patterns
        return patterns

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"<AdminPatterns {'unloaded' if self._patterns is None else len(self._patterns)}>"
