"""The book admin's forms: the book form, the list's editable price and stock, the price change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet
from django.forms.renderers import BaseRenderer
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString

from catalog import isbn as isbn_rules
from catalog import services
from catalog.admin.covers import CoverFormFields
from catalog.fields import BOOK_COLUMN_FIELDS
from catalog.models import Book


def _input_html(widget: forms.widgets.Input, name: str, value: Any, attrs: dict[str, Any] | None) -> SafeString:
    """The widget's ``<input>`` built with ``format_html`` instead of the template engine.

    The book list draws four inputs on each of its rows; through the widget
    templates they cost about as much as the rest of the page together.
    """
    context = widget.get_context(name, value, attrs)["widget"]
    html_attrs = {"type": context["type"], "name": context["name"], **context["attrs"]}
    if context["value"] is not None:
        html_attrs["value"] = context["value"]
    return format_html("<input{}>", flatatt(html_attrs))


class _NumberInput(forms.NumberInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        return _input_html(self, name, value, attrs)


class _HiddenInput(forms.HiddenInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        return _input_html(self, name, value, attrs)


class _ListDecimalField(forms.DecimalField):
    widget = _NumberInput(attrs={"class": "vIntegerField"})  # the admin's narrow number box
    hidden_widget = _HiddenInput


class _ListIntegerField(forms.IntegerField):
    widget = _NumberInput(attrs={"class": "vIntegerField"})
    hidden_widget = _HiddenInput


class BookChangeListForm(forms.ModelForm):
    """A row of the book list's editable price and stock.

    Each field carries the value the page showed (``show_hidden_initial``), so
    only what staff actually edited is saved, and an edit is refused when the
    value changed since the page was loaded (an order may have taken copies):
    staff see the new value and decide again, instead of silently overwriting it.
    """

    price = _ListDecimalField(min_value=0, max_digits=10, decimal_places=2, show_hidden_initial=True)
    stock = _ListIntegerField(min_value=0, show_hidden_initial=True)

    class Meta:
        model = Book
        fields = ["price", "stock"]

    def _shown_value(self, name: str) -> Any:
        field = self.fields[name]
        raw = field.hidden_widget().value_from_datadict(self.data, self.files, self.add_initial_prefix(name))
        try:
            return field.to_python(raw)
        except ValidationError:
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.changed_data:
            current = getattr(self.instance, name)
            if name in cleaned and self._shown_value(name) != current:
                self.add_error(name, f"Changed to {current} since this page was loaded; check it and save again.")
        return cleaned


class PriceChangeForm(forms.Form):
    percent = forms.DecimalField(
        label="Change prices by (%)",
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("-99.99"),
        max_value=services.PRICE_CHANGE_MAX_PERCENT,
        help_text="10 raises every price by 10 %; -15 lowers it by 15 %. Each price is rounded half-up to the cent.",
    )

    def clean_percent(self) -> Decimal:
        percent: Decimal = self.cleaned_data["percent"]
        if percent == 0:
            raise ValidationError("Enter a change other than 0.")
        return percent


class BookAdminForm(CoverFormFields, forms.ModelForm):
    # Longer than the stored 13 digits: hyphens and spaces are accepted, as in the API.
    isbn = forms.CharField(
        label="ISBN",
        max_length=32,
        help_text="ISBN-10 or ISBN-13, hyphens and spaces allowed; stored as ISBN-13.",
    )
    # Any book: the widget (an autocomplete over the book admin's search) is set by BookAdmin.
    same_work_as = forms.ModelChoiceField(
        queryset=Book.objects.all(),
        required=False,
        label="Same work as",
        help_text="Another edition of this work (the hardcover of this paperback, say): the two are grouped, "
        "and each lists the other among its formats.",
    )
    separate_work = forms.BooleanField(
        required=False,
        label="Take out of its work",
        help_text="This edition is a work of its own after all.",
    )

    class Meta:
        model = Book
        # The book's columns, handed to the services as they are; contributors are the inline credits.
        fields = [*BOOK_COLUMN_FIELDS, "genres", "series"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        other = cleaned.get("same_work_as")
        if other is not None and self.instance.pk is not None and other.pk == self.instance.pk:
            self.add_error("same_work_as", "Pick another edition, not this book.")
        if other is not None and cleaned.get("separate_work"):
            self.add_error("separate_work", "Either join another work or take the book out of its work.")
        if cleaned.get("series_number") is not None and cleaned.get("series") is None:
            self.add_error("series_number", "A series number needs a series.")
        if cleaned.get("publication_status") == "forthcoming" and cleaned.get("release_date") is None:
            self.add_error("release_date", "A forthcoming book needs a release date.")
        return cleaned

    def clean_isbn(self) -> str:
        try:
            return isbn_rules.to_isbn13(self.cleaned_data["isbn"])
        except isbn_rules.InvalidIsbn as exc:
            raise forms.ValidationError(str(exc)) from exc


class BookAuthorFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if not any(form.cleaned_data and not form.cleaned_data.get("DELETE") for form in self.forms):
            raise forms.ValidationError("A book needs at least one contributor.")
