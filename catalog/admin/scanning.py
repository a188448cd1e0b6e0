"""Goods in and stock-take by barcode: staff scan ISBNs (a scanner types the ISBN and Enter), then commit.

The page keeps the batch in the browser (``scan.js``): each scan is looked up
(``lookup``, a small JSON answer), counted, and can be corrected by hand;
unknown ISBNs are listed and sent with the batch so the result lists them
too. Committing runs ``catalog.services.stock_receive`` (goods in: add) or
``stock_take`` (set, differences recorded) in one transaction; each change
is a movement of the stock ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from catalog import isbn as isbn_rules
from catalog import services
from catalog.models import Book

if TYPE_CHECKING:
    from django.contrib import admin

    _AdminBase = admin.ModelAdmin[Book]
else:
    _AdminBase = object

MODES = {"goods_in": "Goods in", "stocktake": "Stock-take"}
MAX_LINES = 2000
MAX_COUNT = 100_000


@dataclass(frozen=True)
class ScanLine:
    book_id: int
    title: str
    isbn: str
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


def _isbn13(raw: str) -> str | None:
    try:
        return isbn_rules.to_isbn13(raw)
    except isbn_rules.InvalidIsbn:
        return None


class BookScanMixin(_AdminBase):
    """The scanning page of ``BookAdmin``: ``scan/`` and ``scan/lookup/``."""

    def get_scan_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("scan/", view(self.scan_view), name="catalog_book_scan"),
            path("scan/lookup/", view(self.scan_lookup_view), name="catalog_book_scan_lookup"),
        ]

    def _check(self, request: HttpRequest) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied

    def scan_lookup_view(self, request: HttpRequest) -> HttpResponse:
        """``?isbn=...`` → the book's id, ISBN-13, title and stock; 404 if not in the catalog, 400 if no ISBN."""
        self._check(request)
        raw = request.GET.get("isbn", "")[:40]
        isbn = _isbn13(raw)
        if isbn is None:
            return JsonResponse({"isbn": raw, "error": "not an ISBN"}, status=400)
        book = Book.objects.filter(isbn=isbn).values("id", "title", "stock").first()
        if book is None:
            return JsonResponse({"isbn": isbn, "error": "not in the catalog"}, status=404)
        return JsonResponse({"isbn": isbn, **book})

    def scan_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        mode = request.POST.get("mode") or request.GET.get("mode") or "goods_in"
        if mode not in MODES:
            mode = "goods_in"
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{MODES[mode]} by barcode",
            "mode": mode,
            "modes": MODES,
        }
        if request.method == "POST":
            context.update(self._commit(request, mode))
        return TemplateResponse(request, "admin/catalog/book/scan.html", context)

    def _commit(self, request: HttpRequest, mode: str) -> dict[str, Any]:
        isbns = request.POST.getlist("isbn")[:MAX_LINES]
        raw_counts = request.POST.getlist("count")[:MAX_LINES]
        unknown = [value[:40] for value in request.POST.getlist("unknown")[:MAX_LINES]]
        reference = request.POST.get("reference", "").strip()[:100]
        errors: list[str] = []
        counts: dict[str, int] = {}
        for raw_isbn, raw_count in zip(isbns, raw_counts, strict=False):
            isbn = _isbn13(raw_isbn)
            try:
                count = int(raw_count)
            except ValueError:
                count = -1
            if isbn is None:
                unknown.append(raw_isbn[:40])
                continue
            if not 0 <= count <= MAX_COUNT or (mode == "goods_in" and count == 0):
                errors.append(f"{isbn}: the count must be a whole number from {0 if mode == 'stocktake' else 1}.")
                continue
            counts[isbn] = counts.get(isbn, 0) + count
        books = {row["isbn"]: row for row in Book.objects.filter(isbn__in=counts).values("id", "isbn", "title")}
        unknown += [isbn for isbn in counts if isbn not in books]
        if errors:
            return {"errors": errors, "unknown": unknown}
        by_id = {books[isbn]["id"]: count for isbn, count in counts.items() if isbn in books}
        reference = reference or f"{mode}-{timezone.localtime():%Y%m%d-%H%M}"
        if mode == "goods_in":
            after = services.stock_receive(counts=by_id, by=request.user, reference=reference) if by_id else {}
            changes = {pk: (stock - by_id[pk], stock) for pk, stock in after.items()}
        else:
            changes = services.stock_take(counts=by_id, by=request.user, reference=reference) if by_id else {}
        lines = [
            ScanLine(
                book_id=row["id"],
                title=row["title"],
                isbn=isbn,
                before=changes[row["id"]][0],
                after=changes[row["id"]][1],
            )
            for isbn, row in books.items()
            if row["id"] in changes
        ]
        lines.sort(key=lambda line: line.title)
        return {
            "committed": True,
            "lines": lines,
            "unknown": unknown,
            "reference": reference,
            "copies": sum(line.change for line in lines),
            "changed": sum(1 for line in lines if line.change),
        }
