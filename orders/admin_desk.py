"""The order desk: the order page staff pack and ship from, its status buttons and the packing slip.

Every status button goes through a confirmation page that posts to
``order_transition`` (``order_ship`` for shipping, which records the carrier
and tracking number first), the same code path as the API and the list's
actions. Each change made here is written to the admin's history (LogEntry) by ``order_transition``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from bookstore.exceptions import DomainError
from catalog import covers
from orders.models import Order, OrderItem, StatusChange
from orders.payments.models import Payment, PaymentEvent
from orders.services import TRANSITIONS, order_ship, order_transition

Status = Order.Status

#: What the button for each target status says, in the order the buttons appear.
BUTTONS: dict[str, str] = {
    Status.PAID: "Mark paid",
    Status.SHIPPED: "Ship",
    Status.DELIVERED: "Mark delivered",
    Status.CANCELLED: "Cancel order",
}


@dataclass(frozen=True)
class Button:
    to: str
    label: str
    url: str
    danger: bool


def transitions_allowed(order: Order) -> list[str]:
    """The statuses ``order`` may move to now, in button order."""
    allowed = TRANSITIONS.get(order.status, frozenset())
    return [to for to in BUTTONS if to in allowed]


def cover_url(book: Any) -> str | None:
    """The small thumbnail's URL of the book's cover (``book.cover`` joined); None without one or while pending."""
    urls = covers.cover_urls(book) if book is not None else None
    return urls["small"] if urls else None


def discount_lines(order: Order) -> list[tuple[str, str]]:
    """The applied discounts as staff read them: ("Spring sale (SPRING15)", "3.00")."""
    lines = []
    for discount in order.discounts or []:
        if not isinstance(discount, dict):
            continue
        name = discount.get("description") or str(discount.get("kind", "discount")).replace("_", " ").capitalize()
        code = discount.get("code")
        amount = discount.get("amount", "")
        lines.append((f"{name}{f' ({code})' if code else ''}", str(amount)))
    return lines


def address_lines(address: dict[str, Any] | None) -> list[str]:
    if not address:
        return []
    rows = [
        address.get("name", ""),
        address.get("line1", ""),
        address.get("line2", ""),
        f"{address.get('postal_code', '')} {address.get('city', '')}".strip(),
        address.get("region", ""),
        address.get("country", ""),
        address.get("phone", ""),
    ]
    return [str(row) for row in rows if row]


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=100, label="Carrier")
    tracking_number = forms.CharField(max_length=100, label="Tracking number")

    def clean_carrier(self) -> str:
        return str(self.cleaned_data["carrier"]).strip()

    def clean_tracking_number(self) -> str:
        value = str(self.cleaned_data["tracking_number"]).strip()
        if not value.isprintable():
            raise forms.ValidationError("Only printable characters.")
        return value


if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Order]
else:
    _AdminBase = object


@dataclass(frozen=True)
class DeskItem:
    item: OrderItem
    cover: str | None
    book_id: int


class OrderDeskMixin(_AdminBase):
    """The order page, status buttons with confirmation, and the packing slip, for ``OrderAdmin``."""

    def get_desk_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/status/<str:to>/", view(self.status_view), name="orders_order_status"),
            path("<path:object_id>/packing-slip/", view(self.packing_slip_view), name="orders_order_packing_slip"),
        ]

    def _order(self, request: HttpRequest, object_id: str) -> Order:
        order = (
            Order.objects.select_related("user", "shipping_method", "payment")
            .prefetch_related(
                Prefetch("items", queryset=OrderItem.objects.select_related("book__cover").order_by("id")),
                Prefetch("status_changes", queryset=StatusChange.objects.select_related("by").order_by("at", "id")),
            )
            .filter(pk=unquote(object_id))
            .first()
        )
        if order is None:
            raise Http404("No such order.")
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        return order

    @staticmethod
    def _payment(order: Order) -> Payment | None:
        try:
            return order.payment
        except Payment.DoesNotExist:
            return None

    def desk_context(self, request: HttpRequest, order: Order) -> dict[str, Any]:
        may_change = self.has_change_permission(request, order)
        buttons = [
            Button(
                to=to,
                label=BUTTONS[to],
                url=reverse("admin:orders_order_status", args=[order.pk, to]),
                danger=to == Status.CANCELLED,
            )
            for to in (transitions_allowed(order) if may_change else [])
        ]
        payment = self._payment(order)
        events = (
            list(PaymentEvent.objects.filter(payment=payment).select_related("by").order_by("at", "id"))
            if payment
            else []
        )
        items = [DeskItem(item=item, cover=cover_url(item.book), book_id=item.book_id) for item in order.items.all()]
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Order {order.number}",
            "subtitle": None,
            "order": order,
            "buttons": buttons,
            "items": items,
            "copies": sum(entry.item.quantity for entry in items),
            "discounts": discount_lines(order),
            "tax": [line for line in (order.tax or []) if isinstance(line, dict)],
            "shipping_address": address_lines(order.shipping_address),
            "billing_address": address_lines(order.billing_address),
            "payment": payment,
            "payment_events": events,
            "history": list(order.status_changes.all()),
            "may_view_books": request.user.has_perm("catalog.view_book"),
            "has_view_permission": True,
            "has_change_permission": may_change,
            "original": order,
        }

    def order_desk_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        order = self._order(request, object_id)
        return TemplateResponse(request, "admin/orders/order/desk.html", self.desk_context(request, order))

    def packing_slip_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self._order(request, object_id)
        context = self.desk_context(request, order)
        context["printed_at"] = timezone.localtime()
        return TemplateResponse(request, "admin/orders/order/packing_slip.html", context)

    def status_view(self, request: HttpRequest, object_id: str, to: str) -> HttpResponse:
        """GET: the confirmation page (Ship asks for carrier and tracking number); POST: make the change."""
        order = self._order(request, object_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        if to not in BUTTONS:
            raise Http404("No such status.")
        desk_url = reverse("admin:orders_order_change", args=[order.pk])
        form = ShipForm(request.POST or None, initial={"carrier": order.carrier}) if to == Status.SHIPPED else None
        allowed = to in transitions_allowed(order)
        if request.method == "POST" and allowed and (form is None or form.is_valid()):
            try:
                if form is not None:
                    order_ship(order=order, by=request.user, **form.cleaned_data)
                else:
                    order_transition(order=order, to=to, by=request.user)
            except DomainError as exc:
                messages.error(request, f"{order.number}: not changed. {exc.message}")
            else:
                messages.success(request, f"{order.number}: now {Status(to).label.lower()}.")
            return HttpResponseRedirect(desk_url)
        context = {
            **self.desk_context(request, order),
            "title": f"{BUTTONS[to]}: order {order.number}",
            "to": to,
            "to_label": Status(to).label.lower(),
            "action_label": BUTTONS[to],
            "allowed": allowed,
            "form": form,
            "desk_url": desk_url,
            "refund": to == Status.CANCELLED and (self._payment(order) is not None),
            "total": order.total or Decimal("0"),
        }
        return TemplateResponse(request, "admin/orders/order/status_confirm.html", context)
