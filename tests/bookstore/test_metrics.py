"""/metrics in one process: the bearer token, request and query counting by route."""

from __future__ import annotations

import pytest
from django.db import connection
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def test_metrics_disabled_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
def test_metrics_refuses_a_missing_or_wrong_token(client, metrics_token, header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"bookstore_" not in response.content


def test_metrics_with_the_token(client, metrics_token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.content.decode()
    for name in (
        "bookstore_http_requests_total",
        "bookstore_http_request_duration_seconds",
        "bookstore_db_queries_total",
        "bookstore_orders_placed_total",
        "bookstore_orders_cancelled_total",
        "bookstore_payments_failed_total",
        "bookstore_emails_queued_total",
        "bookstore_emails_sent_total",
        "bookstore_emails_failed_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in body, name


def test_requests_are_counted_by_route_name_not_raw_path(client, metrics_token):
    labels = {"route": "book-detail", "method": "GET", "status": "404"}
    before = _value("bookstore_http_requests_total", **labels)
    before_latency = _value("bookstore_http_request_duration_seconds_count", **labels)
    for missing in (987654, 987655, 987656):
        assert client.get(f"/api/v1/books/{missing}").status_code == 404
    assert client.get("/no/such/page").status_code == 404

    samples = _scrape(client)
    assert samples[("bookstore_http_requests_total", frozenset(labels.items()))] == before + 3
    assert samples[("bookstore_http_request_duration_seconds_count", frozenset(labels.items()))] == before_latency + 3
    unmatched = frozenset({"route": "<unmatched>", "method": "GET", "status": "404"}.items())
    assert samples[("bookstore_http_requests_total", unmatched)] >= 1
    assert not any("987654" in str(labels) for _, labels in samples)


def test_database_queries_are_counted_per_process_and_per_request(client):
    before = _value("bookstore_db_queries_total", alias="default", statement="select")
    before_requests = _value("bookstore_http_request_db_queries_count", route="readyz")
    before_sum = _value("bookstore_http_request_db_queries_sum", route="readyz")

    assert client.get("/readyz").status_code in (200, 503)

    assert _value("bookstore_db_queries_total", alias="default", statement="select") >= before + 1
    assert _value("bookstore_http_request_db_queries_count", route="readyz") == before_requests + 1
    assert _value("bookstore_http_request_db_queries_sum", route="readyz") >= before_sum + 1


def test_statements_outside_requests_are_counted_by_kind():
    before = _value("bookstore_db_queries_total", alias="default", statement="update")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE users SET last_login = NULL WHERE id = -1")
    assert _value("bookstore_db_queries_total", alias="default", statement="update") == before + 1
