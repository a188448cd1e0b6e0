"""Admin for orders (read-only records, status actions), coupons, bulk discount tiers and shipping methods.

Status actions call ``orders.services.order_transition``, the same code path as
the API, so stock, coupon uses and history follow the same rules wherever
staff act.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from itertools import chain
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

from bookstore.audit import AuditedAdminMixin
from bookstore.exceptions import DomainError
from bookstore.limits import money
from catalog.spreadsheet import csv_lines
from orders.admin_desk import OrderDeskMixin
from orders.admin_reports import SalesReportMixin
from orders.exceptions import CouponInvalid
from orders.exporting import COLUMNS, order_csv_values, order_record
from orders.models import BulkDiscountTier, Coupon, IdempotencyKey, Order, ShippingMethod
from orders.payments.models import Payment, WebhookEvent
from orders.payments.records import payment_refund
from orders.rollup import order_totals, sales_rollup_refresh
from orders.selectors import coupon_list, order_list_with_details
from orders.services import (
    TRANSITIONS,
    coupon_code_clean,
    coupon_create,
    coupon_delete,
    coupon_update,
    discount_tier_create,
    discount_tier_delete,
    discount_tier_update,
    order_transition,
)


def _whole_day(value: str | None) -> date | bool | None:
    """The day a date filter value starts (None: no value), or False if it is not midnight of a local day."""
    if value is None:
        return None
    day = parse_date(value)
    if day is not None:
        return day
    try:
        moment = parse_datetime(value)
    except ValueError:
        return False
    if moment is None:
        return False
    if timezone.is_aware(moment):
        try:
            moment = timezone.localtime(moment, timezone.get_default_timezone())
        except OverflowError:  # an instant beyond the calendar in local time: not a day the rollup holds
            return False
    if moment.time() != time.min:
        return False
    return moment.date()


#: The coupon fields staff edit, handed to the coupon services as they are.
COUPON_FIELDS = ("code", "kind", "value", "starts_at", "ends_at", "min_subtotal", "max_uses", "is_active")


class PaymentStatusFilter(admin.SimpleListFilter):
    title = "payment"
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*Payment.Status.choices, ("none", "No payment")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        value = self.value()
        if value == "none":
            return queryset.filter(payment__isnull=True)
        if value in Payment.Status.values:
            return queryset.filter(payment__status=value)
        return queryset


@admin.register(Order)
class OrderAdmin(OrderDeskMixin, SalesReportMixin, admin.ModelAdmin):
    """The order list (filters, totals of the filtered set, actions) and the order desk page."""

    list_display = ("number", "user", "status", "payment_status", "total", "coupon_code", "placed")
    list_filter = ("status", PaymentStatusFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("number", "user__email")
    list_select_related = ("user", "payment")
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    date_hierarchy = None
    change_list_template = "admin/orders/order/change_list.html"
    actions = ("mark_paid", "mark_shipped", "mark_delivered", "cancel_orders", "refund_payments", "export_csv")

    class Media:
        css = {"all": ("bookstore/admin/backoffice.css",)}

    def get_urls(self) -> list[Any]:
        return [*self.get_report_urls(), *self.get_desk_urls(), *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The order desk: orders are read-only records moved on by the status buttons."""
        return self.order_desk_view(request, object_id)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        """An exact order number or customer email: index lookups, never a scan of every order."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            # Emails are stored lower-case (unique index); the (user, created_at) index finds their orders.
            return queryset.filter(user__email=term.lower()), False
        return queryset.filter(number=term.upper()), False

    def _rollup_totals(self, request: HttpRequest) -> tuple[int, Decimal] | None:
        """The filtered set's count and revenue from the sales rollup, when the filters are ones it answers.

        Status and whole days of ``created_at`` (the date filter's links, or plain dates) are; anything else
        (payment, a search, times within a day) is counted from the orders themselves.
        """
        if hasattr(request, "_order_rollup_totals"):
            return request._order_rollup_totals  # type: ignore[no-any-return,unused-ignore]
        totals = None
        params: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k not in ("o", "p", "all")}
        if set(params) <= {"status__exact", "created_at__gte", "created_at__lt"}:
            status = params.get("status__exact")
            since = _whole_day(params.get("created_at__gte"))
            until = _whole_day(params.get("created_at__lt"))
            valid_status = status is None or status in Order.Status.values
            if valid_status and since is not False and until is not False:
                sales_rollup_refresh()
                totals = order_totals(
                    status=status,
                    since=since if isinstance(since, date) else None,
                    until=until if isinstance(until, date) else None,
                )
        request._order_rollup_totals = totals  # type: ignore[attr-defined]
        return totals

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Order],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> Paginator:
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        # Only the order list: the history page pages its LogEntry rows with the same method.
        totals = self._rollup_totals(request) if queryset.model is Order else None
        if totals is not None:
            # ``count`` is a cached property: the rollup's count spares a COUNT(*) over every matching order.
            paginator.__dict__["count"] = totals[0]
        return paginator

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        changelist = context.get("cl") if context else None
        rollup = self._rollup_totals(request)
        if context is not None and changelist is not None and rollup is not None:
            context["filtered_totals"] = {
                "count": rollup[0],
                "revenue": rollup[1],
                "currency": settings.STORE_CURRENCY,
            }
        elif (
            context is not None
            and changelist is not None
            and not any(k.startswith("created_at__") for k in request.GET)
            and not request.GET.get("q", "").strip()
        ):
            # All time on a big store is a scan of every order: the totals wait for a period.
            context["filtered_totals"] = {"needs_period": True}
        elif context is not None and changelist is not None:
            totals = changelist.queryset.order_by().aggregate(
                count=Count("pk"), revenue=Sum("total", filter=~Q(status=Order.Status.CANCELLED))
            )
            context["filtered_totals"] = {
                "count": totals["count"],
                "revenue": money(Decimal(totals["revenue"] or 0)),
                "currency": settings.STORE_CURRENCY,
            }
        return response

    @admin.display(description="placed", ordering="created_at")
    def placed(self, order: Order) -> str:
        return f"{timezone.localtime(order.created_at):%Y-%m-%d %H:%M}"

    @admin.display(description="payment", ordering="payment__status")
    def payment_status(self, order: Order) -> str:
        payment = self._payment(order)
        return payment.get_status_display() if payment else "-"

    @admin.action(description="Refund the payment of selected orders", permissions=["change"])
    def refund_payments(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset.order_by("pk"):
            try:
                payment = payment_refund(order=order, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{order.number}: not refunded. {exc.message}", messages.ERROR)
            else:
                payment.refresh_from_db()
                self.message_user(
                    request, f"{order.number}: payment {payment.get_status_display().lower()}.", messages.SUCCESS
                )

    # Orders are placed through the API and never deleted: cancelling is the way out.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _transition(self, request: HttpRequest, queryset: QuerySet[Order], to: str) -> None:
        # order_transition records each change in the order's history.
        for order in queryset.order_by("pk"):
            try:
                order_transition(order=order, to=to, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{order.number}: not changed. {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.number}: now {Order.Status(to).label.lower()}.", messages.SUCCESS)

    @admin.action(description="Mark selected orders paid", permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, Order.Status.PAID)

    @admin.action(description="Mark selected orders shipped", permissions=["change"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, Order.Status.SHIPPED)

    @admin.action(description="Mark selected orders delivered", permissions=["change"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, Order.Status.DELIVERED)

    @admin.action(description="Cancel selected orders (items go back in stock)…", permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse | None:
        """First a confirmation page listing what will and will not be cancelled; then the cancellations."""
        if request.POST.get("confirm") == "yes":
            self._transition(request, queryset, Order.Status.CANCELLED)
            return None
        orders = list(queryset.order_by("pk"))
        cancellable = [o for o in orders if Order.Status.CANCELLED in TRANSITIONS.get(o.status, frozenset())]
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders?",
            "opts": self.model._meta,
            "queryset": orders,
            "cancellable": cancellable,
            "refused": [o for o in orders if o not in cancellable],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/cancel_confirmation.html", context)

    @admin.action(description="Export selected orders as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Order]) -> StreamingHttpResponse:
        """The columns of ``manage.py export_orders``, oldest first, streamed (any number of orders)."""
        orders = order_list_with_details(orders=queryset)
        records = (order_record(order) for order in orders.order_by("created_at", "id").iterator(chunk_size=1000))
        rows = chain([COLUMNS], (order_csv_values(record) for record in records))
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        filename = f"orders-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class CouponAdminForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = COUPON_FIELDS

    def clean_code(self) -> str:
        # The service's check, so a taken code reads as in the API (on the field, in its words).
        try:
            return coupon_code_clean(code=self.cleaned_data["code"], coupon=self.instance)
        except CouponInvalid as exc:
            raise forms.ValidationError(exc.details["code"]) from exc


def coupon_status(coupon: Coupon, *, now: Any = None) -> str:
    """Where a coupon stands now: disabled, scheduled, expired, used up or active."""
    now = now or timezone.now()
    if not coupon.is_active:
        return "disabled"
    if coupon.starts_at and coupon.starts_at > now:
        return "scheduled"
    if coupon.ends_at and coupon.ends_at <= now:
        return "expired"
    if coupon.max_uses is not None and getattr(coupon, "uses", 0) >= coupon.max_uses:
        return "used_up"
    return "active"


COUPON_STATUS_LABELS = {
    "active": "Active",
    "scheduled": "Scheduled",
    "expired": "Expired",
    "used_up": "Used up",
    "disabled": "Disabled",
}


def _short_datetime(value: Any) -> str:
    """A list cell's date and time in the shop's zone, short enough for one line ("30 Nov 2026 10:23")."""
    return timezone.localtime(value).strftime("%d %b %Y %H:%M") if value else "-"


class CouponStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "coupon_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(COUPON_STATUS_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Coupon]) -> QuerySet[Coupon]:
        now = timezone.now()
        live = Q(is_active=True) & (Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        live &= Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        used_up = Q(max_uses__isnull=False, uses__gte=F("max_uses"))
        conditions = {
            "disabled": Q(is_active=False),
            "scheduled": Q(is_active=True, starts_at__gt=now),
            "expired": Q(is_active=True, ends_at__lte=now) & ~Q(starts_at__gt=now),
            "used_up": live & used_up,
            "active": live & ~used_up,
        }
        value = self.value()
        return queryset.filter(conditions[value]) if value in conditions else queryset


@admin.register(Coupon)
class CouponAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Coupons are written by ``coupon_create``/``coupon_update``, the API's code path."""

    form = CouponAdminForm
    list_display = ("code", "coupon_status", "kind", "value", "starts", "ends", "min_subtotal", "uses_of_max")
    list_filter = (CouponStatusFilter, "kind", "is_active")
    search_fields = ("code",)
    fields = (*COUPON_FIELDS, "uses")
    readonly_fields = ("uses",)

    class Media:
        css = {"all": ("bookstore/admin/backoffice.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Coupon]:
        return coupon_list()

    def save_model(self, request: HttpRequest, obj: Coupon, form: forms.ModelForm[Coupon], change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in COUPON_FIELDS}
        if change:
            coupon_update(coupon=Coupon.objects.get(pk=obj.pk), by=request.user, **values)
        else:
            obj.pk = coupon_create(**values, by=request.user).pk
        obj.refresh_from_db()

    audited_deletions = True  # coupon_delete records each deletion

    def delete_model(self, request: HttpRequest, obj: Coupon) -> None:
        coupon_delete(coupon=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Coupon]) -> None:
        for coupon in queryset.order_by("pk"):
            coupon_delete(coupon=coupon, by=request.user)

    @admin.display(description="status")
    def coupon_status(self, coupon: Coupon) -> SafeString:
        status = coupon_status(coupon)
        return format_html(
            '<span class="coupon-status coupon-status-{}">{}</span>', status, COUPON_STATUS_LABELS[status]
        )

    @admin.display(description="starts", ordering="starts_at")
    def starts(self, coupon: Coupon) -> str:
        return _short_datetime(coupon.starts_at)

    @admin.display(description="ends", ordering="ends_at")
    def ends(self, coupon: Coupon) -> str:
        return _short_datetime(coupon.ends_at)

    @admin.display(description="uses", ordering="uses")
    def uses(self, coupon: Coupon) -> int:
        """Orders using the coupon that are not cancelled (annotated by ``coupon_list``)."""
        return getattr(coupon, "uses", 0)

    @admin.display(description="uses", ordering="uses")
    def uses_of_max(self, coupon: Coupon) -> str:
        uses = getattr(coupon, "uses", 0)
        return f"{uses} / {coupon.max_uses}" if coupon.max_uses is not None else str(uses)


@admin.register(BulkDiscountTier)
class BulkDiscountTierAdmin(admin.ModelAdmin):
    """Tiers are written and removed by the ``discount_tier_*`` services, the API's code path."""

    list_display = ("min_quantity", "percent")
    fields = ("min_quantity", "percent")
    ordering = ("min_quantity",)

    def save_model(
        self, request: HttpRequest, obj: BulkDiscountTier, form: forms.ModelForm[BulkDiscountTier], change: bool
    ) -> None:
        values = {"min_quantity": form.cleaned_data["min_quantity"], "percent": form.cleaned_data["percent"]}
        if change:
            discount_tier_update(tier=BulkDiscountTier.objects.get(pk=obj.pk), **values)
        else:
            obj.pk = discount_tier_create(**values).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: BulkDiscountTier) -> None:
        discount_tier_delete(tier=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BulkDiscountTier]) -> None:
        for tier in queryset.order_by("pk"):
            discount_tier_delete(tier=tier)


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    """Staff offer delivery here; a method orders use cannot be deleted, only made inactive."""

    list_display = ("name", "country_codes", "price", "free_over", "estimated_days", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "countries", "price", "free_over", "estimated_days", "is_active")
    ordering = ("price", "name", "id")

    @admin.display(description="countries")
    def country_codes(self, method: ShippingMethod) -> str:
        return ", ".join(country.code for country in method.countries)


class _RecordAdmin(admin.ModelAdmin):
    """A log the store writes itself: staff read it, nobody adds, edits or deletes rows here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(_RecordAdmin):
    """Read-only: which request key produced which order, to answer "did my retry create a second order?"."""

    list_display = ("key", "user", "order", "response_status", "created_at")
    list_select_related = ("user", "order")
    list_filter = ("response_status",)
    search_fields = ("=key", "user__email", "=order__number")
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    fields = ("key", "user", "order", "fingerprint", "response_status", "response_body", "created_at")
    readonly_fields = fields


@admin.register(WebhookEvent)
class WebhookEventAdmin(_RecordAdmin):
    """Read-only: every provider event received, by id, and what handling it did."""

    list_display = ("event_id", "provider", "type", "received_at", "processed_at", "result")
    list_filter = ("provider", "type")
    search_fields = ("=event_id",)
    show_full_result_count = False
    ordering = ("-received_at", "-id")
    fields = ("provider", "event_id", "type", "received_at", "processed_at", "result", "payload")
    readonly_fields = fields
