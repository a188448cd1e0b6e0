"""Users log in with their email address; there is no username."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Length, Lower
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_countries.fields import CountryField

# Django's own salt, so sessions of users whose tokens were never revoked keep their hash.
_SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively, so they are stored lower-cased."""
    return (email or "").strip().lower()


class LowercaseEmailField(models.EmailField):
    """An email field that lower-cases on the way in, wherever the value comes from."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return normalize_email(value) if isinstance(value, str) else value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return normalize_email(value) if isinstance(value, str) else value


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if extra["is_staff"] is not True or extra["is_superuser"] is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a member of staff; the email address is the login."""

    email = LowercaseEmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Staff manage the catalog and orders and may log into the admin."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive users cannot log in or use tokens.")
    date_joined = models.DateTimeField(default=timezone.now)
    tokens_revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="JWTs issued up to this moment are refused; set when the user is deactivated.",
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        verbose_name = "user"
        verbose_name_plural = "users"
        constraints = [models.UniqueConstraint(Lower("email"), name="users_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_session_auth_hash(self) -> str:
        return self._session_auth_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_auth_hash(secret=secret)

    def _session_auth_hash(self, *, secret: str | bytes | None) -> str:
        """Django's session hash (an HMAC of the password hash), plus ``tokens_revoked_at`` once set.

        Admin sessions end when the hash changes, so deactivation ends them for
        good, like the user's JWTs: reactivating the account does not revive
        them. Until the first revocation the hash is exactly Django's.
        """
        value = self.password
        if self.tokens_revoked_at is not None:
            value = f"{value}:{self.tokens_revoked_at.isoformat()}"
        return salted_hmac(_SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email


class ApiKeyScope(models.TextChoices):
    """What an API key may do, at most; the key never does more than its owner may."""

    CATALOG_READ = "catalog:read", "Read the catalog"
    CATALOG_WRITE = "catalog:write", "Change the catalog"
    ORDERS_READ = "orders:read", "Read orders, coupons, discount tiers and shipping"
    ORDERS_WRITE = "orders:write", "Place and run orders, change coupons and discount tiers"


#: Every scope, in a stable order: the default of a new key.
ALL_API_KEY_SCOPES: tuple[str, ...] = tuple(ApiKeyScope.values)


def _all_scopes() -> list[str]:
    return list(ALL_API_KEY_SCOPES)


class ApiKey(models.Model):
    """A credential for an integration (warehouse system, storefront server) acting as its owner.

    The full key is shown once, when it is created; only its public ``prefix``
    (for the lookup) and a SHA-256 digest of the whole key are stored.
    """

    name = models.CharField(max_length=100, help_text="What the key is for, e.g. “warehouse sync”.")
    owner = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="api_keys",
        limit_choices_to={"is_staff": True, "is_active": True},
        help_text="The key acts as this staff member.",
    )
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    digest = models.CharField("SHA-256 digest", max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Leave empty for a key that does not expire.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    scopes = models.JSONField(
        default=_all_scopes,
        help_text="What the key may do (catalog:read, catalog:write, orders:read, orders:write); "
        "never more than its owner may.",
    )
    daily_quota = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Calls allowed per UTC day; leave empty for no quota.",
    )

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        constraints = [
            models.CheckConstraint(condition=Exact(Length("prefix"), 8), name="api_keys_prefix_length"),
            models.CheckConstraint(condition=Exact(Length("digest"), 64), name="api_keys_digest_length"),
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=models.F("created_at")),
                name="api_keys_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (bk_{self.prefix}_…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, *, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def has_every_scope(self) -> bool:
        return set(ALL_API_KEY_SCOPES) <= set(self.scopes or ())


class ApiKeyDailyUsage(models.Model):
    """How many calls a key made on one UTC day, copied from the shared counters by a periodic job.

    The live count of the current day lives in Redis (``accounts.quotas``);
    these rows keep the history for the usage report after the counters expire.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField(help_text="The UTC day.")
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "api_key_daily_usage"
        ordering = ["api_key", "-day"]
        verbose_name = "API key daily usage"
        verbose_name_plural = "API key daily usage"
        constraints = [models.UniqueConstraint(fields=["api_key", "day"], name="api_key_daily_usage_unique_day")]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.day}: {self.calls}"


class Address(models.Model):
    """A postal address a customer saved for checkout; at most one per user is their default.

    Orders copy the address they ship to, so editing or deleting it here never
    changes an order.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(max_length=200, help_text="Recipient: a person or a company.")
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county, where used.")
    country = CountryField(help_text="ISO 3166-1 alpha-2 code.")
    phone = models.CharField(max_length=30, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "addresses"
        ordering = ["user", "-is_default", "id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_default=True),
                name="addresses_one_default_per_user",
                violation_error_message="A user has at most one default address.",
            ),
            models.CheckConstraint(condition=~models.Q(country=""), name="addresses_country_required"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.line1}, {self.postal_code} {self.city}, {self.country}".replace(" ,", ",")
