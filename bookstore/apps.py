from django.apps import AppConfig

# Imported as a module so that only BookstoreConfig is a candidate default
# AppConfig of this module (Django picks the single subclass found here).
from django.contrib.admin import apps as admin_apps

from bookstore import admin_urls


class BookstoreConfig(AppConfig):
    name = "bookstore"
    verbose_name = "Bookstore"

    def ready(self) -> None:
        from celery.signals import worker_ready
        from django.db.backends.signals import connection_created

        from bookstore.metrics import install_query_counter, worker_metrics_serve

        connection_created.connect(install_query_counter, dispatch_uid="bookstore.metrics.query_counter")
        worker_ready.connect(worker_metrics_serve, dispatch_uid="bookstore.metrics.worker_metrics")


class StoreAdminConfig(admin_apps.SimpleAdminConfig):
    """``django.contrib.admin`` with the store's site: branding from settings and the dashboard.

    Every app's ``admin`` module is imported at start, as ``AdminConfig`` does, except in a web worker, which
    imports them with its first admin request (``bookstore.admin_urls``).
    """

    default = False
    default_site = "bookstore.admin.StoreAdminSite"

    def ready(self) -> None:
        super().ready()
        if not admin_urls.discovered_on_first_use():
            from django.contrib import admin

            admin.autodiscover()
