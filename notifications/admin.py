"""Staff see every email's state and can send one again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import Email
from notifications.services import email_resend


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject_shown", "state", "attempts", "sent_at", "last_error_short"]
    list_filter = ["state", "template"]
    search_fields = ["to", "subject", "key"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [field.name for field in Email._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="subject", ordering="subject")
    def subject_shown(self, obj: Email) -> str:
        # An order's confirmation is rendered by the worker that sends it (notifications.services).
        return obj.subject or f"({obj.template}: rendered when sent)"

    @admin.display(description="last error")
    def last_error_short(self, obj: Email) -> str:
        return obj.last_error[:80]

    @admin.action(description="Send the selected emails again", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        queued = sum(email_resend(email=email) for email in queryset)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} email(s) queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} email(s) skipped: they are queued or being sent already.", messages.WARNING
            )
