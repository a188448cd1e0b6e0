"""GET /api/v1/shipping-methods?country=XX (API.md, "Checkout additions")."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import ShippingMethod
from tests.factories import ShippingMethodFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/shipping-methods"


@pytest.fixture
def methods(db):
    ShippingMethod.objects.all().delete()
    return {
        "express": ShippingMethodFactory(name="Express", countries=["DE", "AT"], price="9.90", estimated_days=1),
        "standard": ShippingMethodFactory(name="Standard", countries=["DE"], price="4.95", free_over="50.00"),
        "europe": ShippingMethodFactory(name="Europe", countries=["FR", "NL", "AT"], price="12.00", estimated_days=5),
        "retired": ShippingMethodFactory(name="Old", countries=["DE"], price="1.00", is_active=False),
    }


def test_anyone_lists_the_active_methods_for_a_country_cheapest_first(api_client, methods):
    response = api_client.get(URL, {"country": "DE"})

    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "id": methods["standard"].pk,
            "name": "Standard",
            "price": "4.95",
            "free_over": "50.00",
            "countries": ["DE"],
            "estimated_days": 2,
        },
        {
            "id": methods["express"].pk,
            "name": "Express",
            "price": "9.90",
            "free_over": None,
            "countries": ["AT", "DE"],
            "estimated_days": 1,
        },
    ]


@pytest.mark.parametrize(
    ("country", "names"), [("AT", ["Express", "Europe"]), ("nl", ["Europe"]), ("US", []), ("FR", ["Europe"])]
)
def test_each_country_gets_the_methods_serving_it(api_client, methods, country, names):
    response = api_client.get(URL, {"country": country})
    assert [method["name"] for method in response.json()] == names


@pytest.mark.parametrize("query", [{}, {"country": ""}, {"country": "XX"}, {"country": "Germany"}, {"country": "DEU"}])
def test_missing_or_unknown_country_is_400_naming_it(api_client, methods, query):
    error = assert_envelope(api_client.get(URL, query), 400, "validation_error")
    assert list(error["details"]) == ["country"]


def test_the_data_migration_offers_standard_to_the_store_country(api_client, settings):
    ShippingMethod.objects.all().delete()
    settings.STORE_COUNTRY = "AT"
    migration = importlib.import_module("orders.migrations.0006_default_shipping_method")

    migration.create_default_method(django_apps, None)
    migration.create_default_method(django_apps, None)  # running it again adds nothing

    assert [method["name"] for method in api_client.get(URL, {"country": "AT"}).json()] == ["Standard"]
    assert api_client.get(URL, {"country": "DE"}).json() == []
    assert ShippingMethod.objects.count() == 1


def test_query_count_does_not_grow_with_the_methods(api_client, methods):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(URL, {"country": "DE"}).status_code == 200
        return len(queries)

    few = count()
    ShippingMethodFactory.create_batch(10, countries=["DE", "FR"])
    assert count() == few
