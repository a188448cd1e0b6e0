"""Top-level URLs: start page, health probes, admin, API v1, schema and docs."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from bookstore import admin_login, health, metrics, start
from bookstore.admin_urls import NAMESPACE, AdminPatterns
from bookstore.media import media_urlpatterns


def _docs_view(name: str, **initkwargs: Any) -> Callable[..., HttpResponse]:
    """``bookstore.docs.<name>``, imported on the first request for it.

    drf-spectacular's schema generator and renderers (with PyYAML) are then loaded by a worker that is asked
    for the schema or the docs page, not by every worker at start (README, "Worker memory").
    """
    view: Callable[..., HttpResponse] | None = None

    def docs_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        nonlocal view
        if view is None:
            from bookstore import docs

            view = getattr(docs, name).as_view(**initkwargs)
        return view(request, *args, **kwargs)

    docs_view.csrf_exempt = True  # type: ignore[attr-defined]  # as DRF's views are
    return docs_view


handler400 = "bookstore.errors.handler400"
handler403 = "bookstore.errors.handler403"
handler404 = "bookstore.errors.handler404"
handler500 = "bookstore.errors.handler500"

# Django tries these in order on every request, so the API (most of the traffic) comes first.
urlpatterns = [
    path("api/v1/", include("bookstore.api")),
    path("", start.start_page, name="start"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Before admin.site.urls so the admin's own login URL gets the attempt limit.
    path("admin/login/", admin_login.login, name="admin-login"),
    path("admin/", include((AdminPatterns(), "admin"), namespace=NAMESPACE)),
    path("api/schema/", _docs_view("SchemaView"), name="schema"),
    path("api/docs/", _docs_view("SwaggerView", url_name="schema"), name="docs"),
    *media_urlpatterns(),
]
