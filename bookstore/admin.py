"""The store's admin site: branding from settings and the dashboard on the index page.

Installed as the default site by ``bookstore.apps.StoreAdminConfig``, so every
app's ``@admin.register`` lands here unchanged.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from bookstore.charts import ChartDay, daily_chart
from bookstore.heartbeat import worker_status
from orders.dashboard import dashboard_get


class StoreAdminSite(admin.AdminSite):
    """Admin site named after the store, with a sales and stock dashboard and the worker status on its index."""

    index_title = "Dashboard"
    # The store has no web pages of its own (frontends use the API), so no "View site" link.
    site_url = None

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
        }
        if show_sales or show_stock:
            dashboard = dashboard_get()
            context["dashboard"] = dashboard
            context["chart"] = daily_chart(
                [ChartDay(day=d.day, orders=d.orders, revenue=d.revenue) for d in dashboard.days],
                currency=settings.STORE_CURRENCY,
            )
        return super().index(request, extra_context={**context, **(extra_context or {})})
