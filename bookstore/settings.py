"""Bookstore settings: one strict, environment-driven module.

Every value comes from the environment (or a local ``.env`` file). Defaults
run a local store on SQLite; production sets the variables documented in the
README ("Configuration").
"""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip()
    return env.str(name, default=default)


#: The spellings a boolean variable may take (any letter case); anything else stops start-up.
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def envbool(name: str, *, default: bool) -> bool:
    """Read a boolean strictly: empty or unset gives ``default``; a typo such as ``ture`` stops start-up.

    (``environ.Env.bool`` would read any unknown value as false and silently switch a setting off.)
    """
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        return _BOOLEANS[raw.lower()]
    except KeyError:
        sys.exit(f"Refusing to start: {name}={raw!r} is not a boolean (use true/false, 1/0, yes/no or on/off).")


DEBUG = envbool("DEBUG", default=False)

SECRET_KEY = _secret("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        sys.exit("Refusing to start: SECRET_KEY is not set and DEBUG is false (set SECRET_KEY or SECRET_KEY_FILE).")
    SECRET_KEY = "insecure-development-only-key-do-not-use-in-production-0123456789"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "bookstore.apps.StoreAdminConfig",  # django.contrib.admin with the store's AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_celery_beat",
    "corsheaders",
    "bookstore",
    "notifications",
    "accounts",
    "catalog",
    "orders",
]

MIDDLEWARE = [
    # Outermost, so every response is counted, including those other middleware make.
    "bookstore.metrics.MetricsMiddleware",
    "bookstore.middleware.RequestIdMiddleware",
    "accounts.middleware.ApiKeyRateLimitHeadersMiddleware",
    "bookstore.middleware.NoStoreForAuthenticatedMiddleware",
    # Before anything that may answer on its own, so refusals carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise, created on the first request for a static file (its index of STATIC_ROOT is about 3 MiB).
    "bookstore.middleware.StaticFilesMiddleware",
    "bookstore.middleware.BodySizeLimitMiddleware",
    "bookstore.middleware.DatabaseUnavailableMiddleware",
    # Without DATABASE_REPLICA_URLS this one removes itself.
    "bookstore.replicas.ReplicaRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bookstore.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bookstore.urls"
WSGI_APPLICATION = "bookstore.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside one writer; IMMEDIATE transactions take the
    # write lock up front, so concurrent writers queue on the busy timeout
    # instead of failing with "database is locked" mid-transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))

# Read replicas (README, "Read replicas"): catalog reads of read-only requests go to
# one of these streaming replicas of the primary; bookstore/replicas.py routes them.
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _replica = environ.Env.db_url_config(_url.strip())
    if _replica["ENGINE"] != _db["ENGINE"] or _db["ENGINE"] == "django.db.backends.sqlite3":
        sys.exit("Refusing to start: DATABASE_REPLICA_URLS must name PostgreSQL replicas of a PostgreSQL DATABASE_URL.")
    _replica["CONN_MAX_AGE"] = _db["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    # Small: a replica that does not answer costs a read this much once, then is skipped for a while.
    _replica["OPTIONS"] = {
        **_replica.get("OPTIONS", {}),
        "connect_timeout": env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=1),
    }
    # The test suite reads replicas through the test database's own connection.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
# After a write a caller reads only from the primary for this long (more than the replication lag).
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=10)
# A replica that refused or timed out is not tried again for this long.
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=5)
DATABASE_ROUTERS = ["bookstore.replicas.ReplicaRouter"]

# A transaction-pooling PgBouncer in front of PostgreSQL (README, "PgBouncer"): a server
# connection changes between transactions, so nothing may outlive one. No server-side
# cursors (iterator() would DECLARE ... WITH HOLD on one server and FETCH on another)
# and no prepared statements (psycopg would prepare on one server and execute on another).
DATABASE_POOLER = env.str("DATABASE_POOLER", default="").strip().lower()
if DATABASE_POOLER not in ("", "pgbouncer"):
    sys.exit(f"Refusing to start: DATABASE_POOLER={DATABASE_POOLER!r} (use pgbouncer, or leave it empty).")
if DATABASE_POOLER:
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        sys.exit("Refusing to start: DATABASE_POOLER=pgbouncer needs a PostgreSQL DATABASE_URL.")
    for _alias in DATABASES.values():
        _alias["DISABLE_SERVER_SIDE_CURSORS"] = True
        _alias["OPTIONS"]["prepare_threshold"] = None
elif _db["ENGINE"] != "django.db.backends.sqlite3":
    # Prepared statements (bookstore/prepared.py): only the statements sent through ``prepared_cursor``
    # are prepared (the ORM's cursors bind on the client and prepare nothing), each planned once.
    # libpq reads PGOPTIONS only without an ``options`` parameter: what it says is kept, in front.
    for _alias in DATABASES.values():
        _alias["OPTIONS"]["prepare_threshold"] = 2**31
        _given = _alias["OPTIONS"].get("options", os.environ.get("PGOPTIONS", ""))
        _alias["OPTIONS"]["options"] = f"{_given} -c plan_cache_mode=force_generic_plan".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, reusing one client object per connection pool (bookstore/cache.py).
            "BACKEND": "bookstore.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="bookstore"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Shared by every worker process on this machine, so rate limits hold
    # across gunicorn workers even without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("CACHE_DIR", default=str(BASE_DIR / "var" / "cache")),
        }
    }

# Rendered book details and list pages (without search) kept in this cache, invalidated by every catalog
# write when it commits (README, "Caching of catalog reads"); 0 turns the documents off. Signed cover URLs
# expire, so with AWS_QUERYSTRING_AUTH the default is off.
CATALOG_CACHE_SECONDS = env.int(
    "CATALOG_CACHE_SECONDS", default=0 if envbool("AWS_QUERYSTRING_AUTH", default=False) else 300
)
# Cache-Control max-age (seconds) of catalog GETs for anonymous callers: browsers and shared caches may reuse
# an answer this long (then revalidate it with If-None-Match).
CATALOG_MAX_AGE = env.int("CATALOG_MAX_AGE", default=10)

# --- Auth -------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_AUTOREFRESH = DEBUG
# --- Media files (book covers) ---------------------------------------------------

# The filesystem under MEDIA_ROOT by default; an S3-compatible bucket (django-storages) when
# AWS_STORAGE_BUCKET_NAME is set. Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the
# usual boto3 sources: an instance role, ~/.aws). README: "Covers and media files".
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    MEDIA_STORAGE: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": _secret("AWS_ACCESS_KEY_ID") or None,
            "secret_key": _secret("AWS_SECRET_ACCESS_KEY") or None,
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            # Covers are public: plain URLs (a public-read bucket or a CDN) unless signed URLs are asked for.
            "querystring_auth": envbool("AWS_QUERYSTRING_AUTH", default=False),
            "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            "file_overwrite": False,
        },
    }
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# `make run` (or any server with SERVE_MEDIA=true) serves MEDIA_ROOT itself at MEDIA_URL; production leaves
# that to the web server or the bucket.
SERVE_MEDIA = envbool("SERVE_MEDIA", default=False)

# Book files uploaded for import in the admin: kept apart from the media files (never served), read only as data.
IMPORTS_ROOT = Path(env.str("IMPORTS_ROOT", default=str(BASE_DIR / "var" / "imports")))
if AWS_STORAGE_BUCKET_NAME:
    _imports_options = dict(MEDIA_STORAGE["OPTIONS"])  # type: ignore[call-overload]
    _imports_options.update(
        location=f"{_imports_options['location']}/imports".lstrip("/"),
        querystring_auth=True,
        default_acl="private",
        custom_domain=None,
    )
    IMPORTS_STORAGE: dict[str, object] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _imports_options}
else:
    IMPORTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(IMPORTS_ROOT), "file_permissions_mode": 0o600},
    }

STORAGES = {
    "default": MEDIA_STORAGE,
    "imports": IMPORTS_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security -----------------------------------------------------------------

# HTTPS settings are off by default so the local store works over plain HTTP;
# production behind a TLS proxy turns them on (README, "Deployment").
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", default=False)
if envbool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Browser frontends on other origins (django-cors-headers), for the API only. The API
# authenticates with the Authorization header, so credentials (cookies) stay off unless asked for.
CORS_ALLOWED_ORIGINS = [
    origin.strip() for origin in env.str("CORS_ALLOWED_ORIGINS", default="").split(",") if origin.strip()
]
CORS_ALLOW_CREDENTIALS = envbool("CORS_ALLOW_CREDENTIALS", default=False)
if "*" in CORS_ALLOWED_ORIGINS:
    if CORS_ALLOW_CREDENTIALS:
        sys.exit(
            "Refusing to start: CORS_ALLOWED_ORIGINS=* with CORS_ALLOW_CREDENTIALS=true lets any site act as the user."
        )
    if len(CORS_ALLOWED_ORIGINS) > 1:
        sys.exit("Refusing to start: CORS_ALLOWED_ORIGINS is either * or a list of origins, not both.")
    CORS_ALLOWED_ORIGINS = []
    CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/api/"
# django-cors-headers' defaults (accept, authorization, content-type, ...) plus the API's own request headers.
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
    "idempotency-key",
    "if-none-match",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = [
    "Location",
    "Retry-After",
    "ETag",
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=3600)

# --- Store --------------------------------------------------------------------

STORE_CURRENCY = env.str("STORE_CURRENCY", default="EUR")
STORE_NAME = env.str("STORE_NAME", default="Bookstore")
# GET /books/facets answers are cached this many seconds per distinct set of parameters (0: not cached).
CATALOG_FACETS_CACHE_SECONDS = env.int("CATALOG_FACETS_CACHE_SECONDS", default=60)
# GET /books/facets reads at most this many matching books (the first by id): up to it every count is exact,
# beyond it the counts are those books' scaled to the number of matches and marked as estimates.
CATALOG_FACETS_EXACT_LIMIT = env.int("CATALOG_FACETS_EXACT_LIMIT", default=5_000)
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# A cover upload (10 MB at most, checked on the file) with room for the multipart envelope and the admin form.
MAX_UPLOAD_REQUEST_BYTES = env.int("MAX_UPLOAD_REQUEST_BYTES", default=11 * 1024 * 1024)
# Admin imports (README, "Imports from the admin"): the largest book file staff may upload, and how long a
# checking or importing job may go without a sign of life from its worker before it shows as failed.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
IMPORT_STALE_SECONDS = env.int("IMPORT_STALE_SECONDS", default=120)
# Uploaded import files are deleted this many days after upload (the jobs, dry runs and reports stay).
IMPORT_FILES_KEEP_DAYS = env.int("IMPORT_FILES_KEEP_DAYS", default=30)
AUTH_RATE_LIMIT = env.str("AUTH_RATE_LIMIT", default="10/minute")
# Password reset requests per target email address (besides AUTH_RATE_LIMIT per client address).
PASSWORD_RESET_EMAIL_RATE_LIMIT = env.str("PASSWORD_RESET_EMAIL_RATE_LIMIT", default="3/hour")
# How long a password reset link works (seconds), and where it points: FRONTEND_URL + PASSWORD_RESET_PATH
# + "?uid=...&token=...". The frontend page posts uid, token and the new password to the API.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:8000").rstrip("/")
PASSWORD_RESET_PATH = "/" + env.str("PASSWORD_RESET_PATH", default="/reset-password").lstrip("/")
ORDER_RATE_LIMIT = env.str("ORDER_RATE_LIMIT", default="30/minute")
QUOTE_RATE_LIMIT = env.str("QUOTE_RATE_LIMIT", default="60/minute")
COUPON_FAILURE_RATE_LIMIT = env.str("COUPON_FAILURE_RATE_LIMIT", default="10/hour")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- OpenID Connect sign-in -----------------------------------------------------
# OIDC_PROVIDERS=google,keycloak names the providers; each needs OIDC_<NAME>_ISSUER,
# OIDC_<NAME>_CLIENT_ID and OIDC_<NAME>_CLIENT_SECRET (or _FILE), optionally
# OIDC_<NAME>_SCOPES and OIDC_<NAME>_REDIRECT_URI (default: OIDC_REDIRECT_URI, where
# "{provider}" stands for the name): the frontend page the provider sends the browser
# back to, which posts code and state to /api/v1/auth/oidc/<name>/callback.
OIDC_REDIRECT_URI = env.str("OIDC_REDIRECT_URI", default="http://localhost:3000/auth/oidc/{provider}/callback")


def _oidc_providers() -> dict[str, dict[str, str]]:
    providers: dict[str, dict[str, str]] = {}
    for name in [part.strip().lower() for part in env.str("OIDC_PROVIDERS", default="").split(",") if part.strip()]:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", name):
            sys.exit(f"Refusing to start: OIDC provider name {name!r} must be letters, digits and dashes.")
        prefix = f"OIDC_{name.upper().replace('-', '_')}_"
        config = {
            "issuer": env.str(prefix + "ISSUER", default=""),
            "client_id": env.str(prefix + "CLIENT_ID", default=""),
            "client_secret": _secret(prefix + "CLIENT_SECRET", default="") or "",
            "scopes": env.str(prefix + "SCOPES", default="openid email profile"),
            "redirect_uri": env.str(prefix + "REDIRECT_URI", default=OIDC_REDIRECT_URI.replace("{provider}", name)),
        }
        missing = [prefix + key.upper() for key in ("issuer", "client_id", "client_secret") if not config[key]]
        if missing:
            sys.exit(f"Refusing to start: OIDC provider {name!r} needs {', '.join(missing)}.")
        providers[name] = config
    return providers


OIDC_PROVIDERS = _oidc_providers()
OIDC_STATE_SECONDS = env.int("OIDC_STATE_SECONDS", default=600)  # how long a started sign-in may take
OIDC_METADATA_SECONDS = env.int("OIDC_METADATA_SECONDS", default=3600)  # discovery document and JWKS cache
OIDC_HTTP_TIMEOUT = env.float("OIDC_HTTP_TIMEOUT", default=5.0)
LOW_STOCK_THRESHOLD = env.int("LOW_STOCK_THRESHOLD", default=5)


def _country(name: str, default: str) -> str:
    from django_countries.data import COUNTRIES

    code = env.str(name, default=default).strip().upper()
    if code not in COUNTRIES:
        sys.exit(f"Refusing to start: {name}={code!r} is not an ISO 3166-1 alpha-2 country code.")
    return code


def _tax_rate(name: str, default: str) -> Decimal:
    """A tax rate in percent, 0 <= rate < 100, with at most two decimal places."""
    text = env.str(name, default=default).strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = Decimal(-1)
    if not (rate.is_finite() and 0 <= rate < 100 and rate == rate.quantize(Decimal("0.01"))):
        sys.exit(f"Refusing to start: {name}={text!r} is not a percentage from 0 to 99.99.")
    return rate


# Checkout: the store's own country (the default shipping method serves it) and the
# tax contained in prices (prices include tax), in percent, with the label shown beside it.
STORE_COUNTRY = _country("STORE_COUNTRY", "DE")
BOOK_TAX_RATE = _tax_rate("BOOK_TAX_RATE", "7")
BOOK_TAX_LABEL = env.str("BOOK_TAX_LABEL", default="VAT")
SHIPPING_TAX_RATE = _tax_rate("SHIPPING_TAX_RATE", "19")
SHIPPING_TAX_LABEL = env.str("SHIPPING_TAX_LABEL", default="VAT")


STORE_ADDRESS = env.str("STORE_ADDRESS", default="1 Example Street, 00000 Example Town")
# Unpaid orders are cancelled after this: manual payment (bank transfer) and card payment.
MANUAL_PAYMENT_DAYS = env.int("MANUAL_PAYMENT_DAYS", default=7)
ORDER_PAYMENT_TIMEOUT = timedelta(minutes=env.int("ORDER_PAYMENT_TIMEOUT", default=30))  # minutes

# --- Payments -----------------------------------------------------------------

# The provider of orders that do not name one: "manual" (bank transfer, pay in shop) or "stripe".
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="manual")
if PAYMENT_PROVIDER not in ("manual", "stripe"):
    raise ImproperlyConfigured(f"PAYMENT_PROVIDER must be 'manual' or 'stripe', not {PAYMENT_PROVIDER!r}.")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Empty: Stripe itself. Tests and local runs point it at localstripe (http://127.0.0.1:8420).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=10.0)  # seconds per call to Stripe
# A webhook whose signed timestamp is older than this (seconds) is refused, so it cannot be replayed later.
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
if PAYMENT_PROVIDER == "stripe" and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY.")

# --- Email --------------------------------------------------------------------

# EMAIL_URL: smtp://user:pass@host:587 (smtp+tls://, smtp+ssl:// too) in production;
# consolemail:// or filemail:///path for development. Default: files under var/mail.
_email = env.email_url("EMAIL_URL", default="filemail:///var/mail")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
# filemail:///var/mail is relative to the project; filemail:////srv/mail is absolute.
EMAIL_FILE_PATH = str(BASE_DIR / _email["EMAIL_FILE_PATH"]) if _email["EMAIL_FILE_PATH"] else ""
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{STORE_NAME} <shop@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# A worker holds an email for this long while it talks to the SMTP server; a
# worker that dies mid-send frees it when the lease runs out (longer than EMAIL_TIMEOUT).
EMAIL_SEND_LEASE = timedelta(seconds=env.int("EMAIL_SEND_LEASE_SECONDS", default=300))
# The task sent at commit time normally delivers within seconds; the outbox sweep
# dispatches an email itself once it has waited this long.
EMAIL_SWEEP_GRACE = timedelta(seconds=env.int("EMAIL_SWEEP_GRACE_SECONDS", default=60))
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=8)
# Order confirmations: one drain task per web process for every this many seconds of
# orders (its emails sent by then), instead of one task per email; 0: one task per email.
EMAIL_DISPATCH_BATCH_SECONDS = env.float("EMAIL_DISPATCH_BATCH_SECONDS", default=1.0)

# --- Background work (Celery) ---------------------------------------------------

# Production: redis://host:6379/0 or amqp://user:pass@host:5672//. The default,
# kombu's filesystem transport under var/celery, needs no server (one machine only).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
CELERY_DATA_DIR = Path(env.str("CELERY_DATA_DIR", default=str(BASE_DIR / "var" / "celery")))
if CELERY_BROKER_URL.startswith("filesystem:"):
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
    }
else:
    # Redis: an unacknowledged task (its worker died) is delivered again after the
    # visibility timeout; each worker looks for such tasks every 10 s (one cheap query).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }
# Stores sharing one broker keep apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that queues a task while the broker is down waits at most ~1 s; the
# outbox sweep sends what could not be queued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Monitoring: metrics, error reporting, worker heartbeat ---------------------

# Every 20 s a worker records that it is alive (the admin dashboard shows it). Beat's
# DatabaseScheduler copies this entry into its schedule, where staff see it.
CELERY_BEAT_SCHEDULE = {
    "bookstore.worker_heartbeat": {
        "task": "bookstore.worker_heartbeat",
        "schedule": 20.0,
        # A heartbeat nobody ran in time is worthless later: it must not pile up while workers are down.
        "options": {"expires": 20},
    },
    # Covers whose thumbnail task was lost (broker down at upload) get it queued again.
    "catalog.cover_sweep": {"task": "catalog.cover_sweep", "schedule": 300.0, "options": {"expires": 300}},
    # Zero-result searches counted in Redis move into the admin's list.
    "catalog.search_misses_flush": {
        "task": "catalog.search_misses_flush",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Uploaded import files past IMPORT_FILES_KEEP_DAYS are deleted, hourly.
    "catalog.import_files_expire": {
        "task": "catalog.import_files_expire",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    # Order changes folded into the daily sales rollup, so reports only fold in the last minute's.
    "orders.sales_rollup_refresh": {
        "task": "orders.sales_rollup_refresh",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

# /metrics answers only requests with "Authorization: Bearer <METRICS_TOKEN>";
# without a token configured the endpoint does not exist (404).
METRICS_TOKEN = _secret("METRICS_TOKEN") or ""
# A Celery worker serves its own /metrics (same token) on this port when set (0: off).
CELERY_WORKER_METRICS_PORT = env.int("CELERY_WORKER_METRICS_PORT", default=0)
CELERY_WORKER_METRICS_BIND = env.str("CELERY_WORKER_METRICS_BIND", default="0.0.0.0")  # noqa: S104

SENTRY_DSN = _secret("SENTRY_DSN") or ""
if SENTRY_DSN:
    from bookstore.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- REST framework -------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["bookstore.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "bookstore.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "bookstore.filters.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "bookstore.schema.AutoSchema",
    "EXCEPTION_HANDLER": "bookstore.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": AUTH_RATE_LIMIT},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # ``?format=`` is a book filter (API.md), not a renderer switch; clients choose a renderer with ``Accept``.
    "URL_FORMAT_OVERRIDE": None,
}
# List counts are exact up to this many matches; beyond, PostgreSQL answers its planner's
# estimate with "count_is_estimate": true (API.md allows it beyond 10,000).
LIST_EXACT_COUNT_LIMIT = env.int("LIST_EXACT_COUNT_LIMIT", default=10_000)

# Every app server must share JWT_SIGNING_KEY (default: SECRET_KEY).
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": _secret("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "CHECK_USER_IS_ACTIVE": True,
    # Tokens carry a hash of the password hash: a password change ends every session at once.
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Bookstore API",
    "DESCRIPTION": "REST API of the Bookstore: catalog, accounts and orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name for a choice set that several fields use.
    "ENUM_NAME_OVERRIDES": {
        "PaymentProviderEnum": "orders.payments.models.Provider",
        "CountryEnum": "accounts.api.serializers.COUNTRY_CHOICES",
    },
}

# --- Logging ------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bookstore.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # 4xx responses are already in the request log line; keep 5xx only.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
