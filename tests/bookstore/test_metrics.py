"""/metrics in one process: the bearer token, request and query counting by route."""

from __future__ import annotations

import pytest
from django.db import connection
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bookstore.metrics import _statement_kind

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


def _gauges(client) -> dict[tuple[str, frozenset], float]:
    return {key: value for key, value in _scrape(client).items() if key[0].startswith("bookstore_")}


@pytest.fixture
def broker_url():
    """Point the Celery app at another broker for one test (conf is read per connection)."""
    from bookstore.celery import app

    original = app.conf.broker_url

    def use(url: str) -> str:
        app.conf.broker_url = url
        return url

    yield use
    app.conf.broker_url = original


def _send(url: str, count: int) -> None:
    from bookstore.celery import app

    with app.connection_for_write(url) as connection:
        for _ in range(count):
            app.send_task("bookstore.metrics_test_never_run", connection=connection)


def test_task_queue_depth_is_read_from_the_broker_at_scrape_time(client, metrics_token):
    from bookstore.celery import app

    queue = frozenset({"queue": "celery"}.items())
    before = _gauges(client)[("bookstore_task_queue_depth", queue)]
    _send(str(app.conf.broker_url), 3)
    after = _gauges(client)
    assert after[("bookstore_task_queue_depth", queue)] == before + 3
    assert after[("bookstore_broker_up", frozenset())] == 1


@pytest.mark.requires_redis
def test_task_queue_depth_of_a_redis_broker(client, metrics_token, broker_url):
    import redis

    url = broker_url("redis://127.0.0.1:6379/8")
    redis.Redis.from_url(url).delete("celery")
    try:
        _send(url, 2)
        gauges = _gauges(client)
        assert gauges[("bookstore_task_queue_depth", frozenset({"queue": "celery"}.items()))] == 2
        assert gauges[("bookstore_broker_up", frozenset())] == 1
    finally:
        redis.Redis.from_url(url).delete("celery")


def test_broker_down_at_scrape_time_reports_broker_up_0(client, metrics_token, broker_url):
    broker_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    gauges = _gauges(client)
    assert gauges[("bookstore_broker_up", frozenset())] == 0
    assert not any(name == "bookstore_task_queue_depth" for name, _ in gauges)
    # The rest of the scrape is still there.
    assert any(name == "bookstore_http_requests_total" for name, _ in gauges)


def test_static_files_share_one_route_label(settings):
    from django.test import Client

    settings.WHITENOISE_USE_FINDERS = True
    labels = {"route": "<static>", "method": "GET", "status": "200"}
    before = _value("bookstore_http_requests_total", **labels)
    response = Client().get("/static/bookstore/admin/dashboard.css")
    assert response.status_code == 200
    assert _value("bookstore_http_requests_total", **labels) == before + 1


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1", "select"),
        ("  insert into books (title) values (%s)", "insert"),
        ("SAVEPOINT s1", "other"),
        ("WITH recent AS (SELECT id FROM orders) SELECT count(*) FROM recent", "select"),
        ("WITH wanted (id, n) AS (SELECT * FROM unnest(%s)) UPDATE books SET stock = 1 FROM wanted", "update"),
        (
            "WITH locked AS MATERIALIZED (SELECT id FROM books FOR NO KEY UPDATE),"
            " taken AS (UPDATE books SET stock = stock - 1 WHERE id IN (SELECT id FROM locked) RETURNING id)"
            " INSERT INTO stock_movements (book_id) SELECT id FROM taken",
            "insert",
        ),
        ("WITH taken AS (UPDATE books SET stock = 0 RETURNING id) SELECT id FROM taken", "update"),
        ("with gone as not materialized ( delete from carts returning id ) select count(*) from gone", "delete"),
    ],
)
def test_statement_kind_reads_the_verb_behind_common_table_expressions(sql, kind):
    assert _statement_kind(sql) == kind
