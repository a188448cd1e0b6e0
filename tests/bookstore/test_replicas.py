"""Read replica routing and pooler settings, on SQLite and PostgreSQL without replicas.

The routing against a real streaming replica, and PgBouncer, are tested in
tests/replica/ (``make test-replica``). Here: the settings, the router's
decisions, and that without ``DATABASE_REPLICA_URLS`` nothing changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.db import router, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from accounts.models import User
from bookstore import replicas
from bookstore.replicas import PIN_COOKIE, ReplicaRouter, ReplicaRoutingMiddleware, RoutingState
from catalog.models import Book
from tests.factories import BookFactory

ROOT = Path(__file__).resolve().parents[2]


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import bookstore.settings with ``env``; print the database settings as JSON."""
    code = (
        "import json, bookstore.settings as s; "
        "print(json.dumps({'databases': s.DATABASES, 'replicas': s.DATABASE_REPLICAS, "
        "'routers': s.DATABASE_ROUTERS, 'pin': s.DATABASE_REPLICA_PIN_SECONDS}, default=str))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_") and k != "PGOPTIONS"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "SECRET_KEY": "settings-test-key-0123456789", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_replica_urls_become_database_aliases_that_mirror_the_primary_in_tests():
    result = _settings(
        DATABASE_URL="postgres://app@primary:5432/shop",
        DATABASE_REPLICA_URLS="postgres://app@replica-a:5432/shop, postgres://app@replica-b:6432/shop",
        DATABASE_REPLICA_PIN_SECONDS="15",
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["replicas"] == ["replica1", "replica2"]
    assert config["routers"] == ["bookstore.replicas.ReplicaRouter"]
    assert config["pin"] == 15
    first, second = config["databases"]["replica1"], config["databases"]["replica2"]
    assert (first["HOST"], first["PORT"], first["NAME"]) == ("replica-a", 5432, "shop")
    assert (second["HOST"], second["PORT"]) == ("replica-b", 6432)
    assert first["OPTIONS"]["connect_timeout"] == 1  # a dead replica costs a second, not the primary's five
    assert first["TEST"] == {"MIRROR": "default"}
    assert first["CONN_MAX_AGE"] == config["databases"]["default"]["CONN_MAX_AGE"]


def test_replicas_of_sqlite_refuse_to_start():
    result = _settings(DATABASE_URL="sqlite:///x.sqlite3", DATABASE_REPLICA_URLS="sqlite:///y.sqlite3")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URLS" in result.stderr


def test_pgbouncer_turns_off_server_side_cursors_and_prepared_statements_everywhere():
    result = _settings(
        DATABASE_URL="postgres://app@bouncer:6432/shop",
        DATABASE_REPLICA_URLS="postgres://app@replica-bouncer:6432/shop",
        DATABASE_POOLER="pgbouncer",
    )
    assert result.returncode == 0, result.stderr
    for alias in ("default", "replica1"):
        database = json.loads(result.stdout)["databases"][alias]
        assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert database["OPTIONS"]["prepare_threshold"] is None
    plain = json.loads(_settings(DATABASE_URL="postgres://app@db:5432/shop").stdout)["databases"]["default"]
    assert not plain.get("DISABLE_SERVER_SIDE_CURSORS")
    # Without a pooler only bookstore.prepared's statements are prepared (the ORM's cursors never are), each
    # planned once.
    assert plain["OPTIONS"]["prepare_threshold"] == 2**31
    assert plain["OPTIONS"]["options"] == "-c plan_cache_mode=force_generic_plan"


def test_the_planning_option_keeps_the_sessions_options_of_pgoptions_or_of_the_url():
    def options(**env: str) -> str:
        result = _settings(**env)
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["databases"]["default"]["OPTIONS"]["options"])

    # libpq's own rule: PGOPTIONS applies unless the connection names its options.
    plan = "-c plan_cache_mode=force_generic_plan"
    assert (
        options(DATABASE_URL="postgres://app@db:5432/shop", PGOPTIONS="-c work_mem=64MB") == f"-c work_mem=64MB {plan}"
    )
    given = "postgres://app@db:5432/shop?options=-c%20statement_timeout%3D5s"
    assert options(DATABASE_URL=given, PGOPTIONS="-c work_mem=64MB") == f"-c statement_timeout=5s {plan}"


def test_an_unknown_pooler_refuses_to_start():
    result = _settings(DATABASE_URL="postgres://app@db:5432/shop", DATABASE_POOLER="pgpool")
    assert result.returncode != 0
    assert "DATABASE_POOLER" in result.stderr


# --- without replicas (the test settings): nothing changes -------------------------------


@pytest.mark.django_db
def test_without_replicas_every_query_uses_the_primary(client):
    book = BookFactory()
    token = replicas._state.set(RoutingState())
    try:
        assert router.db_for_read(Book) == "default"
    finally:
        replicas._state.reset(token)
    with pytest.raises(MiddlewareNotUsed):
        ReplicaRoutingMiddleware(lambda request: HttpResponse())
    response = client.get(f"/api/v1/books/{book.pk}")
    assert response.status_code == 200
    assert PIN_COOKIE not in response.cookies


# --- the router's decisions ----------------------------------------------------------------


@pytest.fixture
def one_replica(monkeypatch):
    """A configured replica that answers (no connection is made: ``_usable`` is the network edge)."""
    replicas.health.reset()
    monkeypatch.setattr(replicas, "_usable", lambda alias: True)
    with override_settings(DATABASE_REPLICAS=["replica1"], DATABASE_REPLICA_RETRY_SECONDS=5):
        yield
    replicas.health.reset()


def _route(state: RoutingState, model=Book) -> str | None:
    token = replicas._state.set(state)
    try:
        return ReplicaRouter().db_for_read(model)
    finally:
        replicas._state.reset(token)


@pytest.mark.django_db(transaction=True)
def test_catalog_reads_of_a_read_only_request_go_to_the_replica(one_replica):
    assert _route(RoutingState()) == "replica1"
    assert _route(RoutingState(), model=User) == "default"  # only the catalog
    assert _route(RoutingState(pinned=True)) == "default"
    assert ReplicaRouter().db_for_read(Book) == "default"  # outside a request: jobs, commands


@pytest.mark.django_db(transaction=True)
def test_a_write_pins_the_rest_of_the_request_to_the_primary(one_replica):
    state = RoutingState()
    token = replicas._state.set(state)
    try:
        assert ReplicaRouter().db_for_read(Book) == "replica1"
        assert ReplicaRouter().db_for_write(Book) == "default"
        assert state.wrote
        assert state.pinned
        assert ReplicaRouter().db_for_read(Book) == "default"
    finally:
        replicas._state.reset(token)


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_stay_on_the_primary(one_replica):
    with transaction.atomic():
        assert _route(RoutingState()) == "default"


@pytest.mark.django_db(transaction=True)
def test_an_object_read_from_a_replica_is_saved_on_the_primary(one_replica):
    book = BookFactory()
    book._state.db = "replica1"  # as if a read-only request had loaded it from the replica
    assert router.db_for_write(Book, instance=book) == "default"
    assert router.db_for_read(Book, instance=book) == "default"  # outside a request


@pytest.mark.django_db(transaction=True)
def test_a_replica_that_failed_is_skipped_until_the_retry_time(one_replica, monkeypatch):
    replicas.health.mark_down("replica1")
    state = RoutingState()
    assert _route(state) == "default"
    assert state.pinned  # no replica: the rest of the request reads the primary
    monkeypatch.setattr(time, "monotonic", lambda: 10**9)  # the retry time has passed
    assert _route(RoutingState()) == "replica1"


def test_round_robin_over_replicas():
    health = replicas._Health()
    assert [health.rotation(["a", "b", "c"])[0] for _ in range(4)] == ["a", "b", "c", "a"]


def test_replicas_are_never_migrated():
    with override_settings(DATABASE_REPLICAS=["replica1"]):
        assert ReplicaRouter().allow_migrate("replica1", "catalog") is False
        assert ReplicaRouter().allow_migrate("default", "catalog") is None


# --- pinning a caller who wrote ------------------------------------------------------------


@override_settings(DATABASE_REPLICA_PIN_SECONDS=30)
def test_a_caller_who_wrote_is_pinned_by_cookie_and_by_credentials():
    factory = RequestFactory()
    writer = factory.post("/api/v1/orders", HTTP_AUTHORIZATION="Bearer token-of-the-writer")
    response = HttpResponse()
    replicas._pin_caller(writer, response)
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == 30
    assert cookie["httponly"]

    # The same credentials, without the cookie (an API client), are pinned by the cache marker ...
    assert replicas._pinned_by_earlier_write(factory.get("/", HTTP_AUTHORIZATION="Bearer token-of-the-writer"))
    # ... a browser by its cookie ...
    browser = factory.get("/")
    browser.COOKIES[PIN_COOKIE] = cookie.value
    assert replicas._pinned_by_earlier_write(browser)
    # ... and nobody else, nor an expired or forged cookie.
    assert not replicas._pinned_by_earlier_write(factory.get("/", HTTP_AUTHORIZATION="Bearer someone-else"))
    stale = factory.get("/")
    stale.COOKIES[PIN_COOKIE] = str(int(time.time()) - 1)
    assert not replicas._pinned_by_earlier_write(stale)
    forged = factory.get("/")
    forged.COOKIES[PIN_COOKIE] = "not-a-time"
    assert not replicas._pinned_by_earlier_write(forged)


# --- the middleware --------------------------------------------------------------------------


@pytest.fixture
def middleware_with_replica(monkeypatch):
    monkeypatch.setattr(replicas, "_watch_failures", lambda alias: None)  # no replica connection here
    with override_settings(DATABASE_REPLICAS=["replica1"], DATABASE_REPLICA_PIN_SECONDS=10):
        yield


def _run(method: str, path: str, view) -> tuple[HttpResponse, list[RoutingState]]:
    seen: list[RoutingState] = []

    def get_response(request):
        state = replicas.current_state()
        seen.append(state)
        return view(state)

    response = ReplicaRoutingMiddleware(get_response)(RequestFactory().generic(method, path))
    return response, seen


def test_middleware_pins_unsafe_methods_and_requests_that_wrote(middleware_with_replica):
    response, (state,) = _run("GET", "/api/v1/books", lambda state: HttpResponse())
    assert not state.pinned
    assert PIN_COOKIE not in response.cookies

    response, (state,) = _run("POST", "/api/v1/orders", lambda state: HttpResponse(status=201))
    assert state.pinned
    assert PIN_COOKIE in response.cookies

    def writes(state):
        ReplicaRouter().db_for_write(Book)
        return HttpResponse()

    response, _ = _run("GET", "/api/v1/books", writes)
    assert PIN_COOKIE in response.cookies

    # The admin reads the primary, and merely looking at it pins nobody.
    response, (state,) = _run("GET", "/admin/catalog/book/", lambda state: HttpResponse())
    assert state.pinned
    assert PIN_COOKIE not in response.cookies


def test_middleware_answers_from_the_primary_when_the_replica_failed_mid_request(middleware_with_replica):
    def view(state):
        if not state.pinned:
            state.failed.add("replica1")  # what the failure watch records when a replica query fails
            return HttpResponse(status=503)
        return HttpResponse("from the primary")

    response, seen = _run("GET", "/api/v1/books", view)
    assert response.status_code == 200
    assert [state.pinned for state in seen] == [False, True]

    # A request that wrote is never run twice.
    def wrote_then_failed(state):
        state.wrote = True
        state.failed.add("replica1")
        return HttpResponse(status=503)

    response, seen = _run("GET", "/api/v1/books", wrote_then_failed)
    assert response.status_code == 503
    assert len(seen) == 1
