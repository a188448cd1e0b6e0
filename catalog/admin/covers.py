"""The book admin's cover: an upload field with the API's checks, a preview on the change page, a thumbnail in the list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html

from catalog import covers
from catalog.exceptions import CoverInvalid
from catalog.models import Book


class CoverFormFields(forms.Form):
    """Added to the book form: upload a cover (checked on submit, like the API's) or remove it."""

    cover_image = forms.FileField(
        label="Cover",
        required=False,
        help_text="JPEG, PNG or WebP, at most 10 MB and 40 megapixels. Replaces the current cover.",
    )
    cover_remove = forms.BooleanField(label="Remove the cover", required=False)

    checked_cover: covers.CheckedImage | None = None

    def clean_cover_image(self) -> Any:
        upload = self.cleaned_data.get("cover_image")
        self.checked_cover = None
        if upload:
            try:
                self.checked_cover = covers.image_check(upload, size=upload.size)
            except CoverInvalid as exc:
                raise forms.ValidationError(exc.details["image"][0]) from exc
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("cover_remove") and self.checked_cover is not None:
            self.add_error("cover_remove", "Either upload a new cover or remove it, not both.")
        return cleaned


class BookCoverAdminMixin:
    """The cover columns and the save step for ``BookAdmin`` (whose form includes ``CoverFormFields``)."""

    def cover_save(self, form: forms.BaseForm) -> None:
        """After the book itself is saved: store the uploaded cover, or remove the cover."""
        if not isinstance(form, CoverFormFields):
            return
        book = form.instance  # type: ignore[attr-defined]
        if form.checked_cover is not None:
            covers.cover_store(book=book, checked=form.checked_cover)
        elif form.cleaned_data.get("cover_remove"):
            covers.cover_delete(book=book)

    def cover_thumbnail(self, book: Book) -> str:
        urls = covers.cover_urls(book)
        if urls is None:
            return "—"
        return format_html('<img src="{}" alt="" width="40" loading="lazy">', urls["small"])

    cover_thumbnail.short_description = "Cover"  # type: ignore[attr-defined]

    def cover_preview(self, book: Book) -> str:
        if book.pk is None:
            return "—"
        urls = covers.cover_urls(book)
        if urls is not None:
            return format_html(
                '<a href="{}"><img src="{}" alt="Cover of {}" width="160"></a>', urls["large"], urls["medium"], book
            )
        if hasattr(book, "cover"):
            return "Uploaded; the thumbnails are being made (reload in a few seconds)."
        return "No cover."

    cover_preview.short_description = "Current cover"  # type: ignore[attr-defined]
