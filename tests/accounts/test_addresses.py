"""/api/v1/users/me/addresses (API.md, "Accounts additions")."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Address
from accounts.services import address_create
from tests.factories import UserFactory
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/me/addresses"
KEYS = {"id", "name", "line1", "line2", "city", "postal_code", "region", "country", "phone", "is_default"}


def berlin(**overrides):
    data = {
        "name": "Ada Lovelace",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }
    return {**data, **overrides}


def saved(user, **overrides):
    return address_create(user=user, **berlin(**overrides))


def test_create_201_with_location_and_shape(customer_client, user):
    response = customer_client.post(URL, berlin(phone="+49 30 1234"), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == KEYS
    assert data | {"id": 0} == {
        "id": 0,
        "name": "Ada Lovelace",
        "line1": "Unter den Linden 1",
        "line2": "",
        "city": "Berlin",
        "postal_code": "10117",
        "region": "",
        "country": "DE",
        "phone": "+49 30 1234",
        "is_default": False,
    }
    assert response["Location"].endswith(f"{URL}/{data['id']}")
    assert Address.objects.get(pk=data["id"]).user == user


def test_postal_code_is_stored_in_its_printed_form(customer_client):
    response = customer_client.post(
        URL, berlin(line1="10 Downing St", city="London", postal_code="sw1a2aa", country="gb"), format="json"
    )

    assert response.status_code == 201, response.content
    assert (response.json()["postal_code"], response.json()["country"]) == ("SW1A 2AA", "GB")


@pytest.mark.parametrize(("country", "postal_code"), [("DE", "1011"), ("FR", "ABCDE"), ("NL", "1012"), ("US", "123")])
def test_malformed_postal_code_is_400_naming_it(customer_client, country, postal_code):
    response = customer_client.post(URL, berlin(country=country, postal_code=postal_code), format="json")

    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["postal_code"]
    assert country in error["details"]["postal_code"][0]
    assert not Address.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("country", "Germany"),
        ("country", "DEU"),
        ("country", ""),
        ("country", {"code": "DE"}),
        ("country", 49),
        ("name", ""),
        ("city", ""),
    ],
)
def test_bad_or_missing_fields_are_400_naming_them(customer_client, field, value):
    response = customer_client.post(URL, berlin(**{field: value}), format="json")

    error = assert_envelope(response, 400, "validation_error")
    assert field in error["details"]


def test_list_is_the_callers_own_default_first(customer_client, user):
    first = saved(user)
    default = saved(user, name="Office", is_default=True)
    saved(UserFactory(), name="Someone else")

    response = customer_client.get(URL)

    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [default.pk, first.pk]


def test_list_query_count_does_not_grow_with_the_addresses(customer_client, user):
    saved(user)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert customer_client.get(URL).status_code == 200
        return len(queries)

    one = count()
    for n in range(10):
        saved(user, name=f"Address {n}")
    assert count() == one


def test_patch_changes_only_what_is_sent_and_checks_the_postal_code_against_the_country(customer_client, user):
    address = saved(user)

    response = customer_client.patch(f"{URL}/{address.pk}", {"city": "Potsdam", "postal_code": "14467"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["city"], response.json()["postal_code"], response.json()["name"]) == (
        "Potsdam",
        "14467",
        "Ada Lovelace",
    )

    # A German postal code is not a valid Canadian one: the resulting address is checked.
    response = customer_client.patch(f"{URL}/{address.pk}", {"country": "CA"}, format="json")
    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["postal_code"]
    address.refresh_from_db()
    assert address.country == "DE"


def test_put_is_not_offered(customer_client, user):
    address = saved(user)
    assert_envelope(customer_client.put(f"{URL}/{address.pk}", berlin(), format="json"), 405, "method_not_allowed")


def test_delete_204(customer_client, user):
    address = saved(user)

    response = customer_client.delete(f"{URL}/{address.pk}")

    assert response.status_code == 204
    assert not Address.objects.filter(pk=address.pk).exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_users_address_is_404_and_untouched(make_client, user, method):
    other = saved(UserFactory())
    client = make_client(user)

    response = getattr(client, method)(f"{URL}/{other.pk}", {"city": "Hamburg"}, format="json")

    assert_envelope(response, 404, "not_found")
    other.refresh_from_db()
    assert other.city == "Berlin"


def test_staff_see_only_their_own_addresses_too(staff_client, user):
    other = saved(user)

    assert staff_client.get(URL).json()["results"] == []
    assert_envelope(staff_client.get(f"{URL}/{other.pk}"), 404, "not_found")


def test_anonymous_is_401(api_client):
    assert_envelope(api_client.get(URL), 401, "not_authenticated")


def test_one_default_per_user(customer_client, user):
    first = customer_client.post(URL, berlin(is_default=True), format="json").json()
    second = customer_client.post(URL, berlin(name="Office", is_default=True), format="json").json()

    assert second["is_default"] is True
    assert customer_client.get(f"{URL}/{first['id']}").json()["is_default"] is False
    # Making the first the default again moves the flag back.
    response = customer_client.patch(f"{URL}/{first['id']}", {"is_default": True}, format="json")
    assert response.json()["is_default"] is True
    assert list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True)) == [first["id"]]


def test_other_users_defaults_are_independent(user):
    saved(user, is_default=True)
    saved(UserFactory(), is_default=True)
    assert Address.objects.filter(is_default=True).count() == 2


def test_the_database_refuses_a_second_default(user):
    saved(user, is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(user=user, **berlin(is_default=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_defaults_leave_exactly_one_and_no_error():
    """Eight requests make their address the default at once: the user's row serialises them."""
    user = UserFactory()
    errors: list[BaseException] = []

    def make_default(n: int) -> None:
        try:
            saved(user, name=f"Address {n}", is_default=True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=make_default, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Address.objects.filter(user=user).count() == 8
    assert Address.objects.filter(user=user, is_default=True).count() == 1
