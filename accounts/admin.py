"""Admin for users (email login, no username) and API keys."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts import personal_data, services
from accounts.exceptions import FieldInvalid
from accounts.models import ALL_API_KEY_SCOPES, ApiKey, ApiKeyScope, User, normalize_email
from accounts.selectors import API_KEY_USAGE_DAYS, api_key_usage
from bookstore.exceptions import DomainError

# --- Users --------------------------------------------------------------------


class EmailUniqueMixin:
    """Reports an email taken in any letter case once, on the field (not also as a constraint error)."""

    instance: User
    cleaned_data: dict[str, Any]

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data.get("email") or "")
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A user with this email address already exists.", code="unique")
        return email


class UserCreationForm(EmailUniqueMixin, auth_forms.AdminUserCreationForm):
    """Add a user by email; the password may be left unusable (e.g. for staff who use API keys only)."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")
        field_classes: dict[str, Any] = {}


class UserChangeForm(EmailUniqueMixin, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict[str, Any] = {}


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined", "tokens_revoked_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined", "tokens_revoked_at")
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    actions = ["sign_out_everywhere", "erase_personal_data"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Like ``services.user_deactivate``: a later reactivation must not revive old sessions or keys.
            services.user_credentials_revoke(user=obj)

    @admin.action(description="Sign selected users out everywhere (revoke their refresh tokens)")
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(services.user_tokens_revoke(user=user) for user in queryset)
        self.message_user(request, f"Revoked {revoked} refresh token(s) of {queryset.count()} user(s).")

    @admin.action(description="Erase personal data of selected users (close their accounts)", permissions=["change"])
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        """On a customer's request: a confirmation page, then ``personal_data.user_erase`` for each user.

        Each erasure is logged in the user's admin history. Users that cannot
        be erased now (orders in fulfilment) and the acting staff member
        themselves are skipped with a message.
        """
        users = list(queryset.order_by("email"))
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data",
                "opts": self.model._meta,
                "users": users,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/accounts/user/erase_personal_data.html", context)
        erased = 0
        for user in users:
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot erase your own account here.", messages.ERROR)
                continue
            label = user.email
            try:
                personal_data.user_erase(user=user, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{label} was not erased: {exc.message}", messages.ERROR)
                continue
            self.log_change(request, user, "Personal data erased on request; account closed.")
            erased += 1
        if erased:
            self.message_user(request, f"Erased the personal data of {erased} user(s).", messages.SUCCESS)
        return None


# --- API keys -----------------------------------------------------------------


class ApiKeyAddForm(forms.ModelForm):
    """Name, owner, expiry, scopes and quota of a new key; the key itself is generated by ``api_key_create``."""

    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        initial=list(ALL_API_KEY_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the key may do; never more than its owner may. None ticked: every scope. Only a key "
        "with every scope may use the account's own routes.",
    )

    class Meta:
        model = ApiKey
        fields = ("name", "owner", "expires_at", "scopes", "daily_quota")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        owner = cleaned.get("owner")
        if owner is not None:
            try:
                services.api_key_validate(owner=owner, expires_at=cleaned.get("expires_at"))
            except FieldInvalid as exc:
                for field, field_messages in exc.details.items():
                    self.add_error(field if field in self.fields else None, field_messages)
        return cleaned


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("usable", "Usable"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        now = timezone.now()
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if self.value() == "usable":
            return queryset.filter(not_expired, revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are generated by the same service as the API and shown once, in a message, after creation."""

    list_display = ("name", "prefix", "owner", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_select_related = ("owner",)
    list_filter = (ApiKeyStatusFilter,)
    search_fields = ("name", "prefix", "owner__email")
    autocomplete_fields = ("owner",)
    actions = ["revoke_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        queryset = super().get_queryset(request)
        # Superusers see every key (to revoke a leaked one); other staff their own.
        if request.user.is_superuser:
            return queryset
        return queryset.filter(owner_id=request.user.pk)

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("name", "owner", "expires_at", "scopes", "daily_quota")
        return (
            "name",
            "prefix",
            "owner",
            "scopes",
            "daily_quota",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "usage",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # Only the name may change: a key's owner, expiry, scopes, quota and secret are fixed when it is issued.
        return (
            "prefix",
            "owner",
            "scopes",
            "daily_quota",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "usage",
        )

    @admin.display(description=f"Calls per UTC day, last {API_KEY_USAGE_DAYS} days")
    def usage(self, obj: ApiKey) -> str:
        days = api_key_usage(api_key=obj)
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((day.date.isoformat(), day.calls) for day in days)
        )
        return format_html(
            '<table class="api-key-usage"><thead><tr><th>Day</th><th>Calls</th></tr></thead><tbody>{}</tbody></table>'
            "<p>Total: {}</p>",
            rows,
            sum(day.calls for day in days),
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner" and not request.user.is_superuser:
            # A key acts as its owner, so staff may only issue keys for themselves.
            kwargs["queryset"] = User.objects.filter(pk=cast(int, request.user.pk))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.api_key_create(
            owner=form.cleaned_data["owner"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data.get("expires_at"),
            scopes=form.cleaned_data.get("scopes") or None,
            daily_quota=form.cleaned_data.get("daily_quota"),
        )
        # The admin goes on with ``obj`` (log entry, redirect): make it the saved key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created.api_key, field.attname))
        obj._state.adding = False
        obj._state.db = created.api_key._state.db
        self.message_user(
            request,
            format_html(
                "The new key for “{}” is <code>{}</code>. Copy it now: it is shown only this once "
                "and cannot be recovered.",
                created.api_key.name,
                created.key,
            ),
            messages.WARNING,
        )

    # Revoking is how keys are deleted; the API's DELETE asks for the same permission.
    @admin.action(description="Revoke selected keys", permissions=["delete"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = services.api_keys_revoke(api_keys=queryset)
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
