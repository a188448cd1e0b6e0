"""Who may call what: every API operation x every kind of caller, with the expected status.

The rows are checked against the URL resolver, so an endpoint added without a
row here fails ``test_the_matrix_covers_every_operation``. Each cell runs the
operation with a valid request, so the status says only who the caller is:

    anonymous, customer (owns the order), other customer, staff (a superuser,
    JWT), API key (the superuser's), revoked API key, deactivated user's JWT,
    staff without permissions, a catalog manager, an order manager

Staff hold in the API exactly the Django permissions they hold in the admin:
staff without permissions are customers here, catalog managers write the
catalog, order managers run orders, coupons and tiers; nobody but a holder of
the API-key permissions (here the superuser) manages API keys, and never with
an API key.

Endpoints open to anyone ignore credentials altogether (the API root and the
login/registration endpoints), so stale or revoked credentials do not lock a
client out of logging in again.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.services import address_create, api_key_create
from catalog.models import BookCover
from orders.models import Order
from tests.accounts.oidc_provider.harness import authorize
from tests.factories import DEFAULT_PASSWORD, AuthorFactory, BookFactory, GenreFactory, SeriesFactory
from tests.security.conftest import PRINCIPALS, World
from tests.security.routes import api_operations

pytestmark = pytest.mark.django_db


def _user_of(world: World, principal: str) -> Any:
    return {
        "customer": world.customer,
        "other_customer": world.other_customer,
        "staff": world.staff,
        "api_key": world.staff,
        "staff_no_perms": world.staff_no_perms,
        "catalog_manager": world.catalog_manager,
        "order_manager": world.order_manager,
    }.get(principal, world.customer)


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # with {} for the path parameter
    expected: tuple[int, ...]  # in PRINCIPALS order
    target: Callable[[World], Any] | None = None  # the object the {} stands for
    body: Callable[[World, str], dict[str, Any] | None] = lambda world, principal: None
    prepare: Callable[[World], None] = lambda world: None
    query: str = ""  # appended to the path, e.g. "?country=DE"
    files: Callable[[World], dict[str, Any]] | None = None  # a multipart body instead of the JSON one


#          anon customer other staff key  revoked deact no-perms catalog orders
OPEN = (200,) * 10
READ = (200, 200, 200, 200, 200, 401, 401, 200, 200, 200)
SIGNED_IN = (401, 200, 200, 200, 200, 401, 401, 200, 200, 200)
SIGNED_IN_NO_CONTENT = (401, 204, 204, 204, 204, 401, 401, 204, 204, 204)
OWNER_OR_ORDER_STAFF = (401, 200, 404, 200, 200, 401, 401, 404, 404, 200)
# API keys: the model's permissions, and a JWT (an API key is refused with 403).
KEYS = (401, 403, 403, 200, 403, 401, 401, 403, 403, 403)
KEYS_CREATED = (401, 403, 403, 201, 403, 401, 401, 403, 403, 403)
KEYS_DELETED = (401, 403, 403, 204, 403, 401, 401, 403, 403, 403)
CATALOG = (401, 403, 403, 200, 200, 401, 401, 403, 200, 403)
CATALOG_CREATED = (401, 403, 403, 201, 201, 401, 401, 403, 201, 403)
CATALOG_DELETED = (401, 403, 403, 204, 204, 401, 401, 403, 204, 403)
ORDER_STAFF = (401, 403, 403, 200, 200, 401, 401, 403, 403, 200)
ORDER_STAFF_CREATED = (401, 403, 403, 201, 201, 401, 401, 403, 403, 201)
ORDER_STAFF_DELETED = (401, 403, 403, 204, 204, 401, 401, 403, 403, 204)
OWNER_ONLY = (401, 200, 404, 404, 404, 401, 401, 404, 404, 404)
OWNER_ONLY_DELETED = (401, 204, 404, 404, 404, 401, 401, 404, 404, 404)
SIGNED_IN_CREATED = (401, 201, 201, 201, 201, 401, 401, 201, 201, 201)
CATALOG_ACCEPTED = (401, 403, 403, 202, 202, 401, 401, 403, 202, 403)


def _book(world: World, principal: str) -> dict[str, Any]:
    return {"isbn": "9780441013593", "title": "Dune", "price": "9.99", "stock": 3, "author_ids": [world.author.pk]}


def _order(world: World, principal: str) -> dict[str, Any]:
    return {"items": [{"book_id": world.book.pk, "quantity": 1}]}


_BERLIN = {"name": "Ada", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}


def _address(world: World) -> int:
    """A saved address of the customer's; only they may see or change it."""
    return address_create(user=world.customer, **_BERLIN).pk


def _reset_link(user: Any) -> dict[str, str]:
    """The uid and token of a password reset link for ``user``, as the email carries them."""
    return {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)}


def _cover(world: World) -> dict[str, Any]:
    image = io.BytesIO()
    Image.new("RGB", (200, 300), (40, 80, 120)).save(image, "PNG")
    return {"image": SimpleUploadedFile("cover.png", image.getvalue(), content_type="image/png")}


def _with_cover(world: World) -> None:
    BookCover.objects.create(book=world.book, original="covers/matrix/original.png", width=200, height=300)


OIDC_NAME = "testidp"
_oidc_users = itertools.count()


def _oidc_sign_in(world: World, principal: str) -> dict[str, Any]:
    """A fresh ``{code, state}`` from the test provider, as its redirect brings them to the frontend."""
    provider = world.oidc
    assert provider is not None
    username = f"matrix{next(_oidc_users)}"
    provider.add_user(username=username, password=DEFAULT_PASSWORD, email=f"{username}@idp.example")
    location = APIClient().get(f"/api/v1/auth/oidc/{OIDC_NAME}/start")["Location"]
    return authorize(provider, location, username, DEFAULT_PASSWORD)


def _paid(world: World) -> None:
    Order.objects.filter(pk=world.order.pk).update(status="paid")


def _shipped(world: World) -> None:
    Order.objects.filter(pk=world.order.pk).update(status="shipped")


ROWS = [
    Row("GET", "/api/v1/", OPEN),
    # --- accounts ---
    Row(
        "POST",
        "/api/v1/auth/register",
        (201,) * 10,
        body=lambda w, p: {"email": "new@example.com", "password": "Quite-L0ng-Passphrase!"},
    ),
    Row(
        "POST", "/api/v1/auth/token", OPEN, body=lambda w, p: {"email": w.customer.email, "password": DEFAULT_PASSWORD}
    ),
    Row(
        "POST",
        "/api/v1/auth/token/refresh",
        OPEN,
        body=lambda w, p: {"refresh": str(RefreshToken.for_user(w.customer))},
    ),
    Row(
        "POST",
        "/api/v1/auth/logout",
        SIGNED_IN_NO_CONTENT,
        body=lambda w, p: {"refresh": str(RefreshToken.for_user(_user_of(w, p)))},
    ),
    Row("POST", "/api/v1/auth/logout-all", SIGNED_IN_NO_CONTENT),
    # Open to anyone, the same answer whether the email is known or not.
    Row("POST", "/api/v1/auth/password-reset", (204,) * 10, body=lambda w, p: {"email": w.customer.email}),
    Row(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        (204,) * 10,
        body=lambda w, p: {**_reset_link(w.customer), "new_password": "An0ther-Long-Passphrase!"},
    ),
    Row("GET", "/api/v1/users/me", SIGNED_IN),
    Row("GET", "/api/v1/users/me/export", SIGNED_IN),
    # Closing the account needs the password and a JWT: an API key acting for its owner is refused.
    Row(
        "DELETE",
        "/api/v1/users/me",
        (401, 204, 204, 204, 403, 401, 401, 204, 204, 204),
        body=lambda w, p: {"password": DEFAULT_PASSWORD},
    ),
    Row("PATCH", "/api/v1/users/me", SIGNED_IN, body=lambda w, p: {"first_name": "Ada"}),
    Row(
        "POST",
        "/api/v1/users/me/password",
        SIGNED_IN_NO_CONTENT,
        body=lambda w, p: {"current_password": DEFAULT_PASSWORD, "new_password": "An0ther-Long-Passphrase!"},
    ),
    Row("GET", "/api/v1/users/me/addresses", SIGNED_IN),
    Row("POST", "/api/v1/users/me/addresses", SIGNED_IN_CREATED, body=lambda w, p: _BERLIN),
    Row("GET", "/api/v1/users/me/addresses/{}", OWNER_ONLY, target=_address),
    Row("PATCH", "/api/v1/users/me/addresses/{}", OWNER_ONLY, target=_address, body=lambda w, p: {"phone": "1"}),
    Row("DELETE", "/api/v1/users/me/addresses/{}", OWNER_ONLY_DELETED, target=_address),
    Row("GET", "/api/v1/api-keys", KEYS),
    Row("POST", "/api/v1/api-keys", KEYS_CREATED, body=lambda w, p: {"name": "ci"}),
    Row("GET", "/api/v1/api-keys/{}", KEYS, target=lambda w: w.api_key_id),
    Row("GET", "/api/v1/api-keys/{}/usage", KEYS, target=lambda w: w.api_key_id),
    Row("DELETE", "/api/v1/api-keys/{}", KEYS_DELETED, target=lambda w: w.api_key_id),
    # OpenID Connect sign-in, against the test provider: open to anyone, credentials ignored.
    Row("GET", "/api/v1/auth/oidc/{}/start", (302,) * 10, target=lambda w: OIDC_NAME),
    Row("POST", "/api/v1/auth/oidc/{}/callback", OPEN, target=lambda w: OIDC_NAME, body=_oidc_sign_in),
    # --- catalog ---
    Row("GET", "/api/v1/authors", READ),
    Row("POST", "/api/v1/authors", CATALOG_CREATED, body=lambda w, p: {"name": "Ursula K. Le Guin"}),
    Row("GET", "/api/v1/authors/{}", READ, target=lambda w: w.author.pk),
    Row("PUT", "/api/v1/authors/{}", CATALOG, target=lambda w: w.author.pk, body=lambda w, p: {"name": "A", "bio": ""}),
    Row("PATCH", "/api/v1/authors/{}", CATALOG, target=lambda w: w.author.pk, body=lambda w, p: {"bio": "New."}),
    Row("DELETE", "/api/v1/authors/{}", CATALOG_DELETED, target=lambda w: AuthorFactory().pk),
    Row("GET", "/api/v1/genres", READ),
    Row("POST", "/api/v1/genres", CATALOG_CREATED, body=lambda w, p: {"name": "Solarpunk"}),
    Row("GET", "/api/v1/genres/{}", READ, target=lambda w: w.genre.pk),
    Row("PUT", "/api/v1/genres/{}", CATALOG, target=lambda w: w.genre.pk, body=lambda w, p: {"name": "G", "slug": "g"}),
    Row("PATCH", "/api/v1/genres/{}", CATALOG, target=lambda w: w.genre.pk, body=lambda w, p: {"name": "Genre"}),
    Row("DELETE", "/api/v1/genres/{}", CATALOG_DELETED, target=lambda w: GenreFactory().pk),
    Row("GET", "/api/v1/series", READ),
    Row("POST", "/api/v1/series", CATALOG_CREATED, body=lambda w, p: {"name": "Earthsea"}),
    Row("GET", "/api/v1/series/{}", READ, target=lambda w: SeriesFactory().pk),
    Row("PUT", "/api/v1/series/{}", CATALOG, target=lambda w: SeriesFactory().pk, body=lambda w, p: {"name": "S"}),
    Row("PATCH", "/api/v1/series/{}", CATALOG, target=lambda w: SeriesFactory().pk, body=lambda w, p: {"name": "T"}),
    Row("DELETE", "/api/v1/series/{}", CATALOG_DELETED, target=lambda w: SeriesFactory().pk),
    Row("GET", "/api/v1/books/facets", READ, query="?search=dune&genre=fantasy&min_price=1"),
    Row("GET", "/api/v1/search/suggest", READ, query="?q=du"),
    Row("POST", "/api/v1/books/{}/notify", SIGNED_IN_NO_CONTENT, target=lambda w: BookFactory(stock=0).pk),
    Row("DELETE", "/api/v1/books/{}/notify", SIGNED_IN_NO_CONTENT, target=lambda w: BookFactory(stock=0).pk),
    Row("GET", "/api/v1/books", READ),
    Row("POST", "/api/v1/books", CATALOG_CREATED, body=_book),
    Row("GET", "/api/v1/books/{}", READ, target=lambda w: w.book.pk),
    Row("PUT", "/api/v1/books/{}", CATALOG, target=lambda w: w.book.pk, body=_book),
    Row("PATCH", "/api/v1/books/{}", CATALOG, target=lambda w: w.book.pk, body=lambda w, p: {"price": "12.50"}),
    Row("DELETE", "/api/v1/books/{}", CATALOG_DELETED, target=lambda w: w.book.pk),
    # A cover is part of the book: uploading and removing it take the change permission.
    Row("PUT", "/api/v1/books/{}/cover", CATALOG_ACCEPTED, target=lambda w: w.book.pk, files=_cover),
    Row("DELETE", "/api/v1/books/{}/cover", CATALOG_DELETED, target=lambda w: w.book.pk, prepare=_with_cover),
    # --- coupons and tiers (staff only, even to read) ---
    Row("GET", "/api/v1/coupons", ORDER_STAFF),
    Row(
        "POST",
        "/api/v1/coupons",
        ORDER_STAFF_CREATED,
        body=lambda w, p: {"code": "NEW5", "kind": "fixed", "value": "5"},
    ),
    Row("GET", "/api/v1/coupons/{}", ORDER_STAFF, target=lambda w: w.coupon.pk),
    Row(
        "PUT",
        "/api/v1/coupons/{}",
        ORDER_STAFF,
        target=lambda w: w.coupon.pk,
        body=lambda w, p: {"code": "PUT10", "kind": "percent", "value": "10"},
    ),
    Row(
        "PATCH", "/api/v1/coupons/{}", ORDER_STAFF, target=lambda w: w.coupon.pk, body=lambda w, p: {"is_active": False}
    ),
    Row("DELETE", "/api/v1/coupons/{}", ORDER_STAFF_DELETED, target=lambda w: w.coupon.pk),
    Row("GET", "/api/v1/discount-tiers", ORDER_STAFF),
    Row(
        "POST",
        "/api/v1/discount-tiers",
        ORDER_STAFF_CREATED,
        body=lambda w, p: {"min_quantity": 50, "percent": "20"},
    ),
    Row("GET", "/api/v1/discount-tiers/{}", ORDER_STAFF, target=lambda w: w.tier.pk),
    Row(
        "PUT",
        "/api/v1/discount-tiers/{}",
        ORDER_STAFF,
        target=lambda w: w.tier.pk,
        body=lambda w, p: {"min_quantity": 60, "percent": "25"},
    ),
    Row(
        "PATCH",
        "/api/v1/discount-tiers/{}",
        ORDER_STAFF,
        target=lambda w: w.tier.pk,
        body=lambda w, p: {"percent": "30"},
    ),
    Row("DELETE", "/api/v1/discount-tiers/{}", ORDER_STAFF_DELETED, target=lambda w: w.tier.pk),
    # --- shipping methods (anyone may read; staff manage them in the admin) ---
    Row("GET", "/api/v1/shipping-methods", READ, query="?country=DE"),
    # --- orders (the customer's order; the other customer must not see it) ---
    Row("GET", "/api/v1/orders", SIGNED_IN),
    Row("POST", "/api/v1/orders", (401, 201, 201, 201, 201, 401, 401, 201, 201, 201), body=_order),
    # Anyone may price a basket; stale credentials are still refused, as on every other read.
    Row("POST", "/api/v1/orders/quote", READ, body=_order),
    Row("GET", "/api/v1/orders/{}", OWNER_OR_ORDER_STAFF, target=lambda w: w.order.pk),
    Row("POST", "/api/v1/orders/{}/cancel", OWNER_OR_ORDER_STAFF, target=lambda w: w.order.pk),
    Row("POST", "/api/v1/orders/{}/pay", ORDER_STAFF, target=lambda w: w.order.pk),
    Row("POST", "/api/v1/orders/{}/ship", ORDER_STAFF, target=lambda w: w.order.pk, prepare=_paid),
    Row("POST", "/api/v1/orders/{}/deliver", ORDER_STAFF, target=lambda w: w.order.pk, prepare=_shipped),
    # --- payments: Stripe's webhook; the signature is the only credential, so unsigned is 400 for everyone ---
    Row(
        "POST",
        "/api/v1/payments/stripe/webhook",
        (400,) * len(PRINCIPALS),
        body=lambda w, p: {"id": "evt_unsigned", "type": "payment_intent.succeeded", "data": {"object": {}}},
    ),
]


def test_the_matrix_covers_every_operation():
    rows = [(row.method, row.path) for row in ROWS]
    assert len(rows) == len(set(rows)), "duplicate rows"
    assert set(rows) == api_operations()


ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


@pytest.fixture
def oidc_world(request: pytest.FixtureRequest, world: World, settings: Any) -> World:
    """The world, with the test OpenID Connect provider configured when the row needs it."""
    if "/auth/oidc/" in request.node.callspec.params["row"].path:
        world.oidc = request.getfixturevalue("oidc_provider")
        settings.OIDC_PROVIDERS = {OIDC_NAME: world.oidc.settings()}
    return world


def _send(client: APIClient, row: Row, world: World, path: str, data: str) -> Any:
    """The row's request: its multipart body when it has files, else the JSON ``data``."""
    if row.files is not None:
        multipart = encode_multipart(BOUNDARY, row.files(world))
        return client.generic(row.method, path, multipart, content_type=MULTIPART_CONTENT)
    return client.generic(row.method, path, data, content_type="application/json")


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.path}")
def test_permission_matrix(oidc_world, row):
    """One row: the operation once per caller, each in a savepoint rolled back afterwards."""
    world = oidc_world
    actual: dict[str, Any] = {}
    for principal in PRINCIPALS:
        cache.clear()  # rate-limit counters of one caller never leak into the next
        with transaction.atomic():
            row.prepare(world)
            path = row.path.replace("{}", str(row.target(world))) if row.target else row.path
            path += row.query
            body = row.body(world, principal)
            data = json.dumps(body) if body is not None else ""
            response = _send(world.client(principal), row, world, path, data)
            actual[principal] = response.status_code
            if response.status_code in ERROR_CODES:
                assert response.json()["error"]["code"] == ERROR_CODES[response.status_code], response.content
            transaction.set_rollback(True)

    assert actual == dict(zip(PRINCIPALS, row.expected, strict=True))


# --- API keys with one scope each -------------------------------------------------------

SCOPES = ("catalog:read", "catalog:write", "orders:read", "orders:write")
_KEY_COLUMN = PRINCIPALS.index("api_key")
#: Routes open to anyone ignore credentials, so a key's scopes do not matter there.
_OPEN_PATHS = (
    "/api/v1/",
    "/api/v1/auth/register",
    "/api/v1/auth/token",
    "/api/v1/auth/token/refresh",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
)
_OPEN_PREFIXES = ("/api/v1/auth/oidc/", "/api/v1/payments/")


def _scope_needed(row: Row) -> str | None:
    """The scope a row needs, written out from API.md; ``None``: the account's own routes (every scope)."""
    area = row.path.removeprefix("/api/v1/").split("/")[0]
    kind = "read" if row.method == "GET" or (row.path == "/api/v1/orders/quote") else "write"
    if area in ("authors", "genres", "books", "series", "search"):
        return f"catalog:{kind}"
    if area in ("orders", "coupons", "discount-tiers", "shipping-methods"):
        return f"orders:{kind}"
    return None


def _expected_for_scope(row: Row, scope: str) -> int:
    full_key = row.expected[_KEY_COLUMN]
    if row.path in _OPEN_PATHS or row.path.startswith(_OPEN_PREFIXES):
        return full_key
    if row.path.startswith("/api/v1/api-keys"):
        return 403  # no key manages keys
    return full_key if _scope_needed(row) == scope else 403


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.path}")
def test_permission_matrix_for_keys_with_one_scope(oidc_world, row):
    """The same operations with a key per scope: what the full key may do, within the scope; else 403."""
    world = oidc_world
    keys = {scope: api_key_create(owner=world.staff, name=scope, scopes=[scope]).key for scope in SCOPES}
    actual: dict[str, Any] = {}
    for scope, key in keys.items():
        cache.clear()
        with transaction.atomic():
            row.prepare(world)
            path = row.path.replace("{}", str(row.target(world))) if row.target else row.path
            body = row.body(world, "api_key")
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
            data = json.dumps(body) if body is not None else ""
            response = _send(client, row, world, path + row.query, data)
            actual[scope] = response.status_code
            if response.status_code in ERROR_CODES:
                assert response.json()["error"]["code"] == ERROR_CODES[response.status_code], response.content
            transaction.set_rollback(True)
    assert actual == {scope: _expected_for_scope(row, scope) for scope in SCOPES}
