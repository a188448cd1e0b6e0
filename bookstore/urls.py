"""Top-level URLs: start page, health probes, admin, API v1, schema and docs."""

from django.contrib import admin
from django.urls import include, path

from bookstore import admin_login, health, metrics, start
from bookstore.docs import SchemaView, SwaggerView
from bookstore.media import media_urlpatterns

handler400 = "bookstore.errors.handler400"
handler403 = "bookstore.errors.handler403"
handler404 = "bookstore.errors.handler404"
handler500 = "bookstore.errors.handler500"

urlpatterns = [
    path("", start.start_page, name="start"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Before admin.site.urls so the admin's own login URL gets the attempt limit.
    path("admin/login/", admin_login.login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("bookstore.api")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    *media_urlpatterns(),
]
