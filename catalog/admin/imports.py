"""Imports from the admin: upload a book file, read its dry run, confirm, watch the import's progress.

``ImportJob``'s admin: its "add" page is the upload form, its change page is
the job's page (the dry run's changes and errors, a Confirm button, a
progress bar the page's script fills from ``status/``, and the report).
Only active staff who may add and change books use it
(``catalog.imports.may_import``); the work itself is ``catalog.imports``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from bookstore.heartbeat import worker_status
from catalog import imports
from catalog.models import ImportJob


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Book file",
        help_text="CSV, JSON Lines (.jsonl) or ONIX 3.0 (.xml), UTF-8, the same formats as manage.py import_books.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.jsonl,.ndjson,.xml,.onix"}),
    )


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "format", "status_shown", "summary", "created_by", "created_at"]
    list_display_links = ["id", "original_name"]
    list_filter = ["status", "format"]
    list_select_related = ["created_by"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False

    class Media:
        css = {"all": ("bookstore/admin/backoffice.css",)}

    # --- permissions: import rights, not the job model's own ---------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return imports.may_import(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return imports.may_import(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return imports.may_import(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- list -----------------------------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_shown(self, job: ImportJob) -> str:
        if job.status in imports.ACTIVE or job.status == ImportJob.Status.QUEUED:
            return f"{job.get_status_display()} ({job.percent} %)"
        return job.get_status_display()

    @admin.display(description="result")
    def summary(self, job: ImportJob) -> str:
        if job.status == ImportJob.Status.DONE:
            report = job.report
            return (
                f"{report.get('created', 0)} created, {report.get('updated', 0)} updated, "
                f"{report.get('unchanged', 0)} unchanged, {report.get('rejected', 0)} rejected"
            )
        if job.plan:
            plan = job.plan
            return (
                f"would create {plan.get('new', 0)}, update {plan.get('updated', 0)}; "
                f"{plan.get('rejected', 0)} rejected"
            )
        return job.message[:80]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        imports.imports_mark_stale()
        return super().changelist_view(request, extra_context)

    # --- pages ----------------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:job_id>/status/", view(self.status_view), name="catalog_importjob_status"),
            path("<int:job_id>/confirm/", view(require_POST(self.confirm_view)), name="catalog_importjob_confirm"),
            *super().get_urls(),
        ]

    def _job(self, request: HttpRequest, job_id: Any) -> ImportJob:
        if not imports.may_import(request.user):
            raise PermissionDenied
        try:
            pk = int(job_id)
        except (TypeError, ValueError):
            raise Http404 from None
        imports.imports_mark_stale()
        job = ImportJob.objects.select_related("created_by").filter(pk=pk).first()
        if job is None:
            raise Http404
        return job

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "max_bytes": settings.IMPORT_MAX_BYTES,
        }

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The upload form; a good file becomes a job, and the browser goes to its page to watch the dry run."""
        if not imports.may_import(request.user):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = imports.import_job_create(
                    upload=upload, name=upload.name or "", size=upload.size or 0, by=request.user
                )
            except imports.ImportFileRefused as exc:
                form.add_error("file", str(exc))
            else:
                return HttpResponseRedirect(reverse("admin:catalog_importjob_change", args=[job.pk]))
        context = {**self._context(request, "Import books"), "form": form, **(extra_context or {})}
        return TemplateResponse(request, "admin/catalog/importjob/upload.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        job = self._job(request, object_id)
        source = job.report if job.status == ImportJob.Status.DONE else job.plan
        context = {
            **self._context(request, f"Import #{job.pk}: {job.original_name}"),
            "job": job,
            "original": job,
            "plan": job.plan,
            "report": job.report,
            "listed": source,
            "fields": sorted((source.get("fields") or {}).items(), key=lambda item: (-item[1], item[0])),
            "size": filesizeformat(job.size),
            "active": job.status in (*imports.ACTIVE, ImportJob.Status.QUEUED),
            "status_url": reverse("admin:catalog_importjob_status", args=[job.pk]),
            "confirm_url": reverse("admin:catalog_importjob_confirm", args=[job.pk]),
            "max_listed": imports.MAX_LISTED,
            "worker_status": worker_status()
            if job.status in (ImportJob.Status.CHECKING, ImportJob.Status.QUEUED)
            else None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/catalog/importjob/job.html", context)

    def status_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        job = self._job(request, job_id)
        return JsonResponse(imports.import_job_status(job))

    def confirm_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self._job(request, job_id)
        retry = job.status == ImportJob.Status.FAILED
        if imports.import_job_confirm(job=job, by=request.user):
            messages.success(request, "Queued again." if retry else "The import is queued; it runs in the background.")
        else:
            messages.error(request, "This job cannot be started now.")
        return HttpResponseRedirect(reverse("admin:catalog_importjob_change", args=[job.pk]))
