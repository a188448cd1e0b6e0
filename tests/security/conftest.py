"""A small store with every kind of caller, for the permission matrix and the OWASP tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.services import api_key_create, api_key_revoke
from tests.accounts.oidc_provider.harness import oidc_provider as oidc_provider
from tests.factories import (
    AuthorFactory,
    BookFactory,
    BulkDiscountTierFactory,
    CouponFactory,
    GenreFactory,
    OrderFactory,
    OrderItemFactory,
    SeriesFactory,
    UserFactory,
)

# Examples run by the contract fuzzing, per operation label and per status class.
FUZZ_STATS: Counter[str] = Counter()

# "staff" is a superuser; the last three are staff who hold only what their groups grant (none, for the first).
PRINCIPALS = (
    "anonymous",
    "customer",
    "other_customer",
    "staff",
    "api_key",
    "revoked_key",
    "deactivated_token",
    "staff_no_perms",
    "catalog_manager",
    "order_manager",
)
CATALOG_MANAGERS = "Catalog managers"
ORDER_MANAGERS = "Order managers"


@dataclass
class World:
    customer: Any
    other_customer: Any
    staff: Any  # a superuser
    staff_no_perms: Any
    catalog_manager: Any
    order_manager: Any
    deactivated: Any
    author: Any
    genre: Any
    book: Any
    coupon: Any
    tier: Any
    order: Any  # the customer's
    other_order: Any  # the other customer's
    api_key: str
    api_key_id: int
    revoked_key: str
    deactivated_token: str
    oidc: Any = None  # the test OpenID Connect provider, for the rows that sign in with it
    series: Any = None

    def client(self, principal: str) -> APIClient:
        client = APIClient()
        credentials = {
            "anonymous": None,
            "customer": f"Bearer {_access(self.customer)}",
            "other_customer": f"Bearer {_access(self.other_customer)}",
            "staff": f"Bearer {_access(self.staff)}",
            "api_key": f"Api-Key {self.api_key}",
            "revoked_key": f"Api-Key {self.revoked_key}",
            "deactivated_token": f"Bearer {self.deactivated_token}",
            "staff_no_perms": f"Bearer {_access(self.staff_no_perms)}",
            "catalog_manager": f"Bearer {_access(self.catalog_manager)}",
            "order_manager": f"Bearer {_access(self.order_manager)}",
        }[principal]
        if credentials:
            client.credentials(HTTP_AUTHORIZATION=credentials)
        return client


def _access(user: Any) -> str:
    return str(RefreshToken.for_user(user).access_token)


def staff_in_groups(*groups: str, **fields: Any) -> Any:
    """A staff member (not a superuser) holding exactly what ``groups`` grant."""
    member = UserFactory(is_staff=True, **fields)
    member.groups.set(Group.objects.filter(name__in=groups))
    assert member.groups.count() == len(groups), "the staff groups come from bookstore/migrations/0001_staff_groups"
    return member


@pytest.fixture
def world(db: Any) -> World:
    customer = UserFactory()
    other_customer = UserFactory()
    staff = UserFactory(is_staff=True, is_superuser=True)
    deactivated = UserFactory()
    deactivated_token = _access(deactivated)  # issued while the account was active
    deactivated.is_active = False
    deactivated.save(update_fields=["is_active"])

    author = AuthorFactory()
    genre = GenreFactory()
    book = BookFactory(authors=[author], stock=50)
    book.genres.add(genre)
    order = OrderFactory(user=customer)
    OrderItemFactory(order=order, book=book)
    other_order = OrderFactory(user=other_customer)
    OrderItemFactory(order=other_order, book=book)

    created = api_key_create(owner=staff, name="automation")
    revoked = api_key_create(owner=staff, name="old")
    api_key_revoke(api_key=revoked.api_key)
    return World(
        customer=customer,
        other_customer=other_customer,
        staff=staff,
        staff_no_perms=staff_in_groups(),
        catalog_manager=staff_in_groups(CATALOG_MANAGERS),
        order_manager=staff_in_groups(ORDER_MANAGERS),
        deactivated=deactivated,
        author=author,
        genre=genre,
        book=book,
        coupon=CouponFactory(),
        tier=BulkDiscountTierFactory(),
        order=order,
        other_order=other_order,
        api_key=created.key,
        api_key_id=created.api_key.pk,
        revoked_key=revoked.key,
        deactivated_token=deactivated_token,
        series=SeriesFactory(),
    )


@pytest.fixture
def as_principal(world: World) -> Callable[[str], APIClient]:
    return world.client


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FUZZ_STATS:
        return
    operations = {label: n for label, n in FUZZ_STATS.items() if not label.startswith(("status ", "edge "))}
    statuses = ", ".join(f"{label[7:]}: {n}" for label, n in sorted(FUZZ_STATS.items()) if label.startswith("status "))
    terminalreporter.section("contract fuzzing (schemathesis)")
    terminalreporter.write_line(
        f"{sum(operations.values())} examples over {len(operations)} operations "
        f"(fewest for one operation: {min(operations.values())}); responses {statuses}; "
        f"{FUZZ_STATS['edge values']} with a query value at an edge (calendar ends, signed orderings)"
    )
