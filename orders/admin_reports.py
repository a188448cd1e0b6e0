"""The sales report page of the orders admin, with a CSV export of each of its tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from bookstore.charts import ChartDay, daily_chart
from catalog.spreadsheet import csv_lines
from orders.models import Order
from orders.reports import GRANULARITIES, MAX_DAYS, SalesReport, sales_report

if TYPE_CHECKING:
    from django.contrib import admin

    _AdminBase = admin.ModelAdmin[Order]
else:
    _AdminBase = object

EXPORTS = ("periods", "books", "copies", "authors", "genres", "coupons", "tax")


class ReportForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    granularity = forms.ChoiceField(choices=list(GRANULARITIES.items()), initial="day", label="By")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and (end < start or (end - start).days > MAX_DAYS):
            raise forms.ValidationError("The end must not be before the start, and the range at most three years.")
        return data


def presets(today: date) -> list[tuple[str, date, date]]:
    first_this_month = today.replace(day=1)
    last_month_end = first_this_month - timedelta(days=1)
    return [
        ("Last 30 days", today - timedelta(days=29), today),
        ("This month", first_this_month, today),
        ("Last month", last_month_end.replace(day=1), last_month_end),
        ("This year", today.replace(month=1, day=1), today),
    ]


def _rows(report: SalesReport, which: str) -> Iterable[list[Any]]:
    if which == "periods":
        yield [report.granularity, "orders", "revenue", "discounts"]
        for p in report.periods:
            yield [p.start.isoformat(), p.orders, p.revenue, p.discounts]
    elif which in ("books", "copies", "authors", "genres"):
        ranked = {
            "books": report.top_books_by_revenue,
            "copies": report.top_books_by_copies,
            "authors": report.top_authors,
            "genres": report.top_genres,
        }[which]
        yield ["id", "title" if which in ("books", "copies") else "name", "copies", "revenue"]
        for r in ranked:
            yield [r.key, r.name, r.copies, r.revenue]
    elif which == "coupons":
        yield ["coupon", "orders", "discount"]
        for c in report.coupons:
            yield [c.code, c.orders, c.discount]
    else:
        yield ["tax", "rate", "amount"]
        for t in report.tax:
            yield [t.label, t.rate, t.amount]


class SalesReportMixin(_AdminBase):
    """``reports/`` of ``OrderAdmin``: staff who may view orders see sales."""

    def get_report_urls(self) -> list[Any]:
        return [path("reports/", self.admin_site.admin_view(self.reports_view), name="orders_order_reports")]

    def reports_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        data = request.GET if "start" in request.GET else None
        form = ReportForm(data, initial={"start": today - timedelta(days=29), "end": today, "granularity": "day"})
        report = None
        if data is None or form.is_valid():
            values = form.cleaned_data if data is not None else form.initial
            report = sales_report(start=values["start"], end=values["end"], granularity=values["granularity"])
            export = request.GET.get("export")
            if export in EXPORTS:
                response = StreamingHttpResponse(
                    csv_lines(_rows(report, export)), content_type="text/csv; charset=utf-8"
                )
                filename = f"sales-{export}-{report.start:%Y%m%d}-{report.end:%Y%m%d}.csv"
                response["Content-Disposition"] = f'attachment; filename="{filename}"'
                return response
        query = request.GET.copy()
        query.pop("export", None)
        if "start" not in query and report is not None:
            query.update({"start": report.start.isoformat(), "end": report.end.isoformat(), "granularity": "day"})
        chart = (
            daily_chart(
                [ChartDay(day=p.start, orders=p.orders, revenue=p.revenue) for p in report.periods],
                currency=settings.STORE_CURRENCY,
            )
            if report
            else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Sales report",
            "form": form,
            "report": report,
            "chart": chart,
            "currency": settings.STORE_CURRENCY,
            "presets": presets(today),
            "query": query.urlencode(),
            "granularity_label": GRANULARITIES.get(report.granularity, "") if report else "",
        }
        return TemplateResponse(request, "admin/orders/order/reports.html", context)
