"""Admin for orders (read-only records, status actions), coupons, bulk discount tiers and shipping methods.

Status actions call ``orders.services.order_transition``, the same code path as
the API, so stock, coupon uses and history follow the same rules wherever
staff act.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from bookstore.exceptions import DomainError
from catalog.spreadsheet import csv_lines
from orders.exceptions import CouponInvalid
from orders.exporting import COLUMNS, order_csv_values, order_record
from orders.models import BulkDiscountTier, Coupon, IdempotencyKey, Order, OrderItem, ShippingMethod, StatusChange
from orders.payments.models import Payment, PaymentEvent, WebhookEvent
from orders.payments.records import payment_refund
from orders.selectors import coupon_list, order_list_with_details
from orders.services import (
    coupon_code_clean,
    coupon_create,
    coupon_update,
    discount_tier_create,
    discount_tier_delete,
    discount_tier_update,
    order_transition,
)

#: The coupon fields staff edit, handed to the coupon services as they are.
COUPON_FIELDS = ("code", "kind", "value", "starts_at", "ends_at", "min_subtotal", "max_uses", "is_active")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderItemInline(_ReadOnlyInline):
    model = OrderItem
    fields = ("book", "isbn", "title", "unit_price", "quantity", "line_total", "is_preorder")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("book")


class StatusChangeInline(_ReadOnlyInline):
    model = StatusChange
    verbose_name = "status change"
    verbose_name_plural = "status history"
    fields = ("at", "from_status", "to_status", "by")
    readonly_fields = fields
    ordering = ("at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatusChange]:
        # ``order`` for each row's caption (StatusChange.__str__), ``by`` for the column.
        return super().get_queryset(request).select_related("order", "by")


class PaymentInline(_ReadOnlyInline):
    model = Payment
    verbose_name_plural = "payment"
    fields = ("provider", "status", "amount", "currency", "provider_payment_id", "provider_refund_id", "last_error")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "user", "status", "total", "coupon_code", "created_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("number", "user__email")
    list_select_related = ("user",)
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    fields = (
        "number",
        "user",
        "status",
        "subtotal",
        "discounts",
        "discount_total",
        "fulfilment",
        "shipping_method",
        "shipping_method_name",
        "shipping",
        "total",
        "tax_lines",
        "shipping_address_text",
        "billing_address_text",
        "coupon",
        "coupon_code",
        "carrier",
        "tracking_number",
        "created_at",
        "updated_at",
        "payment_history",
    )
    readonly_fields = fields
    inlines = (OrderItemInline, PaymentInline, StatusChangeInline)
    actions = ("mark_paid", "mark_shipped", "mark_delivered", "cancel_orders", "refund_payments", "export_csv")

    @admin.display(description="payment history")
    def payment_history(self, order: Order) -> str:
        """Each payment status change: when, from, to, why (webhook event id or staff)."""
        events = PaymentEvent.objects.filter(payment__order=order).select_related("by").order_by("at", "id")
        return (
            "\n".join(
                f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S} {event.from_status or '-'} → {event.to_status}"
                f"{' by ' + str(event.by) if event.by else ''}{': ' + event.note if event.note else ''}"
                f"{' (' + event.provider_event_id + ')' if event.provider_event_id else ''}"
                for event in events
            )
            or "-"
        )

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

    @admin.display(description="tax (contained in the total)")
    def tax_lines(self, order: Order) -> SafeString | str:
        """One line per rate, as recorded when the order was placed."""
        if not order.tax:
            return "-"
        return format_html_join(
            "",
            "<div>{} {} %: {}</div>",
            ((line["label"], line["rate"], line["amount"]) for line in order.tax),
        )

    @staticmethod
    def _address(address: dict[str, str] | None) -> SafeString | str:
        if not address:
            return "-"
        rows = [
            address.get("name", ""),
            address.get("line1", ""),
            address.get("line2", ""),
            f"{address.get('postal_code', '')} {address.get('city', '')}".strip(),
            address.get("region", ""),
            address.get("country", ""),
            address.get("phone", ""),
        ]
        return format_html_join("", "<div>{}</div>", ((row,) for row in rows if row))

    @admin.display(description="shipping address")
    def shipping_address_text(self, order: Order) -> SafeString | str:
        return self._address(order.shipping_address)

    @admin.display(description="billing address")
    def billing_address_text(self, order: Order) -> SafeString | str:
        return self._address(order.billing_address)

    # Orders are placed through the API and never deleted: cancelling is the way out.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _transition(self, request: HttpRequest, queryset: QuerySet[Order], to: str) -> None:
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

    @admin.action(description="Cancel selected orders (items go back in stock)", permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, Order.Status.CANCELLED)

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


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    """Coupons are written by ``coupon_create``/``coupon_update``, the API's code path."""

    form = CouponAdminForm
    list_display = ("code", "kind", "value", "starts_at", "ends_at", "min_subtotal", "max_uses", "uses", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code",)
    fields = (*COUPON_FIELDS, "uses")
    readonly_fields = ("uses",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Coupon]:
        return coupon_list()

    def save_model(self, request: HttpRequest, obj: Coupon, form: forms.ModelForm[Coupon], change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in COUPON_FIELDS}
        if change:
            coupon_update(coupon=Coupon.objects.get(pk=obj.pk), **values)
        else:
            obj.pk = coupon_create(**values).pk
        obj.refresh_from_db()

    @admin.display(description="uses", ordering="uses")
    def uses(self, coupon: Coupon) -> int:
        """Orders using the coupon that are not cancelled (annotated by ``coupon_list``)."""
        return getattr(coupon, "uses", 0)


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
