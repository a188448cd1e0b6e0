"""Contract fuzzing: schemathesis against the API's own OpenAPI schema, in process (WSGI).

Every operation of ``/api/schema/`` is fuzzed as an anonymous caller, a
customer and a member of staff, with valid data (positive mode) and with data
that breaks the schema (negative mode). Every response must be something the
schema documents: no 5xx, a documented status code and content type, a body
that matches the documented schema.

``FUZZ_EXAMPLES`` sets the examples per operation, caller and mode (CI: 50
across the two modes per caller; ``make fuzz`` runs more). The totals are printed
at the end of the run.

Schemathesis draws dates and strings from the whole range, so it rarely lands
where overflows live. About half the valid examples of an operation with a date
or an ordering parameter therefore replace one of them with a value from
``tests/security/edges.py``: dates and timestamps at the ends of the calendar
(where a day added, or a conversion to UTC, leaves it) and orderings with
repeated or foreign signs (``--total``, ``+title``). The number of examples
stays the same; the API must still answer within its schema (such values are
a documented 400).

Checks left out, and why (schemathesis cannot know these rules):

- ``positive_data_acceptance``: schema-valid bodies legitimately fail business
  rules the schema cannot express (an unknown ``book_id``, a coupon code that
  does not exist, a duplicate ISBN, stock running out); those are documented
  4xx answers, checked by ``status_code_conformance``.
- ``negative_data_rejection`` runs, except for query parameters the API
  deliberately tolerates (see ``TOLERATED_QUERY``), and for
  ``use_after_free``/``ensure_resource_availability``/``ignored_auth``, which are
  stateful checks meant for the CLI's stateful phase; the permission matrix
  covers auth for every endpoint and caller instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi import checks as openapi_checks

from tests.security.conftest import FUZZ_STATS, World
from tests.security.edges import edge_values

pytestmark = pytest.mark.django_db

# Examples per operation and caller (CI default); about 60 % valid data, 40 % invalid.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "17"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"  # `make fuzz`: new inputs on every run

APP = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", APP)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

load_all_checks()

_SCALARS = (str, int, float, bool)


def _value_at(document: Any, path: Any) -> Any:
    for step in path:
        try:
            document = document[step]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def _is_blank(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_blank(item) for item in value)
    # Only commas and spaces: a comma-separated list of blank entries ("?ordering=,").
    return value is None or (isinstance(value, str) and not value.replace(",", "").strip())


def _valid_as_read(case: Any, name: str | None) -> bool:
    """Whether a multi-value query parameter's value is valid once split at commas, trimmed and lower-cased."""
    parameter = next((parameter for parameter in case.operation.query if parameter.name == name), None)
    if parameter is None or not parameter.definition.get("explode"):
        return False
    choices = parameter.definition.get("schema", {}).get("items", {}).get("enum")
    sent = (case.query or {}).get(name)
    if not choices or sent is None:
        return False
    values = sent if isinstance(sent, list) else [sent]
    return all(part.strip().lower() in choices for value in values for part in str(value).split(",") if part.strip())


def _tolerated_leniency(case: Any) -> bool:
    """Invalid inputs the API accepts on purpose, following Django and DRF conventions.

    - A scalar of the wrong JSON type in a body field that DRF converts, the
      way DRF documents it (``198`` for a string field becomes ``"198"``,
      ``"7"`` for an integer field becomes ``7``). Values it cannot convert
      are still a 400, which the check sees.
    - A string outside its length limits only because of surrounding
      whitespace: DRF trims it before checking the length, and stores the
      trimmed value.
    - A query parameter of the "wrong type": on the wire every query value is
      a string. An array or object arrives as the parameter repeated (Django
      reads the last value, validated like any other) or, when empty, as a
      blank value, which Django treats as absent; a string that happens to
      spell a number is that number. Any blank query value (``?published_after=``)
      means "no filter", as in every Django form, and blank entries of a
      comma-separated list (``?ordering=,``) are skipped.
    - A value of a multi-value parameter (``explode: true``, such as ``genre``
      or ``status``) that is valid as the API reads it: split at commas,
      trimmed, codes matched in any case (``?status=PAID,shipped``).
    - An invalid ``Authorization`` header: the test replaces it with the
      caller's real credentials (invalid credentials are the permission
      matrix's and the authentication tests' business).
    """
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    mutations = getattr(data, "mutations", ())
    if not mutations:
        return False
    for mutation in mutations:
        location = mutation.parameter_location
        type_change = mutation.keywords == ("type",)
        coerced_scalar = (
            location == ParameterLocation.BODY
            and type_change
            and isinstance(_value_at(case.body, mutation.path), _SCALARS)
        )
        sent = _value_at(case.body, mutation.path) if location == ParameterLocation.BODY else None
        trimmed_length = (
            location == ParameterLocation.BODY
            and set(mutation.keywords) <= {"minLength", "maxLength"}
            and isinstance(sent, str)
            and sent != sent.strip()
        )
        blank_query = location == ParameterLocation.QUERY and _is_blank(_value_at(case.query, mutation.path))
        query_on_the_wire = location == ParameterLocation.QUERY and (
            type_change or blank_query or _valid_as_read(case, mutation.parameter)
        )
        # The test sends each caller's real credentials, replacing any generated Authorization header.
        our_credentials = location == ParameterLocation.HEADER and (mutation.parameter or "").lower() == "authorization"
        if not (coerced_scalar or trimmed_length or query_on_the_wire or our_credentials):
            return False
    return True


def negative_data_rejection(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' check that invalid input is refused, minus the documented leniencies."""
    if _tolerated_leniency(case):
        return None
    return openapi_checks.negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Keep Django from closing the test's connection at each request, as its test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _real_ids(world: World) -> dict[str, Any]:
    return {
        "/api/v1/orders/": world.order.pk,
        "/api/v1/books/": world.book.pk,
        "/api/v1/authors/": world.author.pk,
        "/api/v1/genres/": world.genre.pk,
        "/api/v1/coupons/": world.coupon.pk,
        "/api/v1/discount-tiers/": world.tier.pk,
        "/api/v1/api-keys/": world.api_key_id,
        "/api/v1/auth/oidc/": OIDC_NAME,
    }


def _headers(world: World, principal: str) -> dict[str, str]:
    client = world.client(principal)
    authorization = client._credentials.get("HTTP_AUTHORIZATION")
    return {"Authorization": authorization} if authorization else {}


def _has_inputs(operation: Any) -> bool:
    return any(len(getattr(operation, part)) for part in ("path_parameters", "query", "headers", "body"))


def _examples(mode: GenerationMode) -> int:
    positive = max(1, round(EXAMPLES * 0.6))
    return positive if mode is GenerationMode.POSITIVE else max(1, EXAMPLES - positive)


PRINCIPALS = ("anonymous", "customer", "staff")


def _fuzz(operation: Any, mode: GenerationMode, principal: str, world: World) -> None:
    headers = _headers(world, principal)
    real_ids = _real_ids(world)
    # Only valid cases get an edge value: a negative case must stay invalid in the way schemathesis recorded.
    edges = (
        edge_values(operation.schema.raw_schema, operation.definition.raw) if mode is GenerationMode.POSITIVE else []
    )
    edge_strategy = st.none() | st.sampled_from(edges) if edges else st.none()

    @hypothesis.settings(
        max_examples=_examples(mode),
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), use_real_id=st.booleans(), edge=edge_strategy)
    def check(case: Any, use_real_id: bool, edge: tuple[str, str] | None) -> None:
        # Half the valid cases aim at objects that exist, so more than the 404 path is exercised.
        if use_real_id and mode is GenerationMode.POSITIVE and case.path_parameters:
            for prefix, real in real_ids.items():
                if operation.path.startswith(prefix):
                    case.path_parameters[next(iter(case.path_parameters))] = real
        if edge is not None:
            name, value = edge
            case.query = {**(case.query or {}), name: value}
            FUZZ_STATS["edge values"] += 1
        response = case.call(headers=headers)
        FUZZ_STATS[operation.label] += 1
        FUZZ_STATS[f"status {response.status_code // 100}xx"] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


OIDC_NAME = "testidp"


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_api_honours_its_schema(operation, world, wsgi_in_test_transaction, request, settings):
    """One operation, fuzzed as each caller, with valid and (where it has inputs) invalid data."""
    if operation.path.startswith("/api/v1/auth/oidc/"):
        # Sign-in with OpenID Connect talks to the test provider (tests/accounts/oidc_provider/).
        settings.OIDC_PROVIDERS = {OIDC_NAME: request.getfixturevalue("oidc_provider").settings()}
    # Nothing can be made invalid in an operation without inputs.
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _has_inputs(operation) else [])
    for principal in PRINCIPALS:
        for mode in modes:
            try:
                _fuzz(operation, mode, principal, world)
            except BaseException as exc:
                exc.add_note(f"while fuzzing {operation.label} as {principal} with {mode.value} data")
                raise
