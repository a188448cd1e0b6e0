"""The store's admin site: branding from settings and the dashboard on the index page.

Installed as the default site by ``bookstore.apps.StoreAdminConfig``, so every
app's ``@admin.register`` lands here unchanged; every model admin registered
here gets the checked changelist below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from bookstore.charts import ChartDay, daily_chart
from bookstore.heartbeat import worker_status
from catalog.imports import may_import
from orders.dashboard import dashboard_get


class CheckedChangeList(ChangeList):
    """A changelist whose filter values are checked for the database before the page is read.

    Django checks a lookup value (``?created_at__lt=...``) when it builds the
    query, but converts it for the database only when the query runs. A
    timestamp such as ``9999-12-31T23:59:59-01:00`` parses, then overflows on
    its conversion to UTC while the page is read: a 500. Compiling the query
    here turns that into the admin's usual answer to a bad lookup, the
    changelist again with an error flag (``?e=1``).
    """

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        try:
            queryset.query.get_compiler(using=queryset.db, elide_empty=False).as_sql()
        except (OverflowError, ValueError, ValidationError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset


class CheckedChangeListMixin:
    """Serves the changelist as ``CheckedChangeList`` (a model admin's own changelist class is kept)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        changelist: type[ChangeList] = super().get_changelist(request, **kwargs)  # type: ignore[misc]
        return CheckedChangeList if changelist is ChangeList else changelist


#: Models that serve the machinery rather than the shop: only superusers see them, whatever their permissions.
TECHNICAL_MODELS = frozenset(
    {
        "auth.group",
        "django_celery_beat.clockedschedule",
        "django_celery_beat.crontabschedule",
        "django_celery_beat.intervalschedule",
        "django_celery_beat.periodictask",
        "django_celery_beat.solarschedule",
        "orders.idempotencykey",
        "orders.webhookevent",
        "token_blacklist.blacklistedtoken",
        "token_blacklist.outstandingtoken",
    }
)


class SuperuserOnlyMixin:
    """A model admin whose pages and index entry exist for superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class StoreAdminSite(admin.AdminSite):
    """Admin site named after the store, with a sales and stock dashboard and the worker status on its index."""

    index_title = "Dashboard"
    # The store has no web pages of its own (frontends use the API), so no "View site" link.
    site_url = None

    def register(
        self,
        model_or_iterable: type[Model] | Iterable[type[Model]],
        admin_class: type[admin.ModelAdmin[Any]] | None = None,
        **options: Any,
    ) -> None:
        # Here rather than in each app's admin, so that no changelist can miss it
        # (including those of Django's own apps, such as groups).
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, CheckedChangeListMixin):
            admin_class = type(
                admin_class.__name__,
                (CheckedChangeListMixin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        for model in models:
            model_admin = admin_class
            if model._meta.label_lower in TECHNICAL_MODELS and not issubclass(model_admin, SuperuserOnlyMixin):
                model_admin = type(
                    model_admin.__name__,
                    (SuperuserOnlyMixin, model_admin),
                    {"__module__": model_admin.__module__, "__qualname__": model_admin.__qualname__},
                )
            super().register(model, model_admin, **options)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        # Read per request, so a changed STORE_NAME shows without a new site object.
        context["site_header"] = settings.STORE_NAME
        context["site_title"] = f"{settings.STORE_NAME} admin"
        return context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        user = request.user
        show_sales = user.has_perm("orders.view_order")
        show_stock = user.has_perm("catalog.view_book")
        context: dict[str, Any] = {
            "show_sales": show_sales,
            "show_stock": show_stock,
            "worker_status": worker_status(),
            "may_import": may_import(user),
        }
        if show_sales or show_stock:
            dashboard = dashboard_get()
            context["dashboard"] = dashboard
            context["chart"] = daily_chart(
                [ChartDay(day=d.day, orders=d.orders, revenue=d.revenue) for d in dashboard.days],
                currency=settings.STORE_CURRENCY,
            )
        return super().index(request, extra_context={**context, **(extra_context or {})})
