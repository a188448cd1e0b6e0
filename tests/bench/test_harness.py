"""The benchmark harness's own logic: Lua config rendering, ceiling P, targets, the table."""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
import sqlite3
from pathlib import Path
from unittest import mock

import pytest

from bench import loadgen, report, run
from bench.loadgen import WrkResult


def test_to_lua_renders_nested_values_with_escapes():
    rendered = loadgen.to_lua(
        {"method": "POST", "paths": ["/a?x=1", 'b"c'], "n": 3, "on": True, "sets": [{"Authorization": "Bearer t"}]}
    )
    assert rendered == (
        '{["method"]="POST",["paths"]={"/a?x=1","b\\"c"},["n"]=3,["on"]=true,["sets"]={{["Authorization"]="Bearer t"}}}'
    )


def test_to_lua_rejects_values_it_cannot_render():
    with pytest.raises(TypeError):
        loadgen.to_lua({"x": object()})


def test_wrk_result_separates_server_errors_from_rejections():
    result = WrkResult(
        requests=100,
        duration_s=2.0,
        errors={"connect": 1, "read": 0, "write": 0, "status": 12, "timeout": 2},
        latency_ms={"p50": 1.0},
        status={"201": 88, "409": 10, "503": 2},
    )
    assert result.rps == 50.0
    assert result.ok == 88
    assert result.server_errors == 2
    assert result.socket_errors == 3  # "status" counts non-2xx responses, not socket errors
    assert result.as_dict()["ok_rps"] == 44.0


def test_percentile_picks_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert run.percentile(values, 50) == 51.0
    assert run.percentile(values, 95) == 95.0
    assert run.percentile([], 50) == 0.0


def test_scenario_selection_expands_groups_and_rejects_unknown_names():
    args = run.parse_args(["--scenarios", "reads,orders,detail"])
    assert args.scenario_list == ["detail", "list", "list_filtered", "orders"]
    assert run.parse_args([]).scenario_list == run.ALL
    with pytest.raises(SystemExit):
        run.parse_args(["--scenarios", "nope"])


@pytest.mark.parametrize(
    ("name", "row", "met"),
    [
        ("detail", {"ratio_j": 0.41, "ratio_p": 0.31}, True),
        ("detail", {"ratio_j": 0.41, "ratio_p": 0.29}, False),
        ("list", {"ratio_j": 0.30, "constant_queries": True}, True),
        ("list", {"ratio_j": 0.30, "constant_queries": False}, False),
        ("search_selective", {"latency_ms": {"p95": 49.0}}, True),
        ("search_broad", {"latency_ms": {"p95": 151.0}}, False),
        ("apikey", {"overhead_p50_ms": 0.4}, True),
        ("apikey", {"overhead_p50_ms": 1.2}, False),
        (
            "orders",
            {"headline_rps": 310.0, "server_errors": 0, "check": {"consistent": True, "deadlock_rate": 0.0}},
            True,
        ),
        (
            "orders",
            {"headline_rps": 290.0, "server_errors": 0, "check": {"consistent": True, "deadlock_rate": 0.0}},
            False,
        ),
        (
            "orders",
            {"headline_rps": 310.0, "server_errors": 0, "check": {"consistent": False, "deadlock_rate": 0.0}},
            False,
        ),
        ("orders", {"headline_rps": 310.0, "server_errors": 1, "check": {"consistent": True}}, False),
        ("list_filtered", {"ratio_j": 0.16}, True),
        ("list_filtered", {"ratio_j": 0.14}, False),
        ("facets_uncached", {"latency_ms": {"p95": 199.0}}, True),
        ("facets_uncached", {"latency_ms": {"p95": 201.0}}, False),
        ("suggest", {"latency_ms": {"p95": 19.0}}, True),
        ("suggest", {"latency_ms": {"p95": 21.0}}, False),
        ("login", {"ratio_j": 0.01}, None),
    ],
)
def test_targets_follow_the_issue(name, row, met):
    target, result = report.evaluate(name, row, books=1_000_000)
    assert result is met
    assert bool(target) is (met is not None)


def test_markdown_table_has_a_row_per_measured_scenario():
    result = {
        "scenarios": {
            "detail": {
                "label": "book detail",
                "connections": 8,
                "rps": 500.0,
                "headline_rps": 500.0,
                "latency_ms": {"p50": 10.0, "p95": 20.0, "p99": 30.0},
                "non_2xx": 0,
                "server_errors": 0,
                "socket_error_count": 0,
                "ratio_j": 0.5,
                "ratio_p": 0.4,
                "target": "t",
                "met": False,
            },
            "admin_dashboard": {"label": "admin dashboard"},  # not a wrk row
        }
    }
    table = report.markdown_table(result).splitlines()
    assert len(table) == 3
    assert table[2] == "| book detail | 8 | 500 | 10.00 | 20.00 | 30.00 | 0 | 0 | 0.50 | 0.40 | t | **no** |"


def test_ceiling_p_returns_the_row_by_primary_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = tmp_path / "books.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE books (id INTEGER PRIMARY KEY, isbn TEXT, title TEXT, subtitle TEXT, publisher TEXT, "
            "published_date TEXT, language TEXT, page_count INTEGER, price TEXT, stock INTEGER, is_active BOOL)"
        )
        conn.execute(
            "INSERT INTO books VALUES (17, '9780441013593', 'Dune', '', 'Ace', '1965-08-01', 'en', 896, '9.99', 12, 1)"
        )
    monkeypatch.setenv("BENCH_DATABASE_URL", f"sqlite:///{db}")
    from bench.ceilings import db_app

    db_app = importlib.reload(db_app)
    calls: list[str] = []

    def call(query: str) -> tuple[str, dict]:
        body = b"".join(
            db_app.application(
                {"QUERY_STRING": query, "wsgi.input": io.BytesIO()}, lambda status, headers: calls.append(status)
            )
        )
        return calls[-1], json.loads(body)

    status, book = call("id=17")
    assert status == "200 OK"
    assert book["title"] == "Dune"
    assert book["price"] == "9.99"
    assert call("id=18")[0] == "404 Not Found"
    assert call("id=abc")[0] == "404 Not Found"


def test_prime_requests_every_distinct_path_once_over_the_loads_connections(tmp_path: Path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(404 if self.path.endswith("/3") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        bench = run.BenchRun(run.parse_args(["--scenarios", "detail"]))
        server = type("S", (), {"base_url": f"http://127.0.0.1:{httpd.server_address[1]}"})()
        bench.servers["app"] = server
        paths = [f"/api/v1/books/{n}" for n in (1, 2, 3, 2, 1)]
        load = loadgen.Load(paths=paths, connections=3, headers={"Authorization": "Api-Key k"})
        primed = bench.prime("app", load)
    finally:
        httpd.shutdown()
        shutil.rmtree(bench.workdir)  # not cleanup(): it would drop the run's database
    assert sorted(path for path, _ in seen) == ["/api/v1/books/1", "/api/v1/books/2", "/api/v1/books/3"]
    assert {auth for _, auth in seen} == {"Api-Key k"}
    assert primed["paths"] == 3
    assert primed["status"] == {"200": 2, "404": 1}
    assert bench.app_requests == 3


def test_no_prime_is_an_option():
    assert run.parse_args([]).no_prime is False
    assert run.parse_args(["--no-prime"]).no_prime is True


def test_key_overhead_is_reported_against_the_uncached_anonymous_request():
    def row(p50: float, **extra: object) -> dict:
        return {"latency_ms": {"p50": p50}, **extra}

    result = {
        "scenarios": {
            "anonymous": row(0.5),
            "anonymous_uncached": row(4.0),
            "apikey": row(4.2, overhead_p50_ms=0.2, compared_with="anonymous_uncached"),
            "jwt": row(4.5, overhead_p50_ms=0.5, compared_with="anonymous_uncached"),
        }
    }
    lines = report.extra_lines(result)
    assert "stored document: p50 0.5 ms" in lines
    assert "documents off (DRF and the database, as a key or JWT caller's): p50 4.0 ms" in lines
    assert "4.2 ms with the key vs 4.0 ms anonymous (1 connection, two wrk runs, documents off) = +0.20 ms" in lines


def test_servers_run_gunicorn_confs_number_of_workers_unless_told(tmp_path: Path):
    """Without --workers the store, J and P start as production does: no --workers flag, gunicorn.conf.py's count."""
    import multiprocessing

    from bench.servers import BIN, Server, default_workers

    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    assert run.parse_args([]).workers is None
    assert default_workers(BIN, env) == max(2, multiprocessing.cpu_count())
    assert default_workers(BIN, {**env, "GUNICORN_WORKERS": "3"}) == 3
    argv: list[list[str]] = []

    class Started(Exception):
        pass

    def popen(args: list[str], **kwargs: object) -> None:
        argv.append(args)
        raise Started

    for flag in (False, True):
        server = Server("app", "bookstore.wsgi:application", env, 5, tmp_path, workers_flag=flag)
        with mock.patch("subprocess.Popen", popen), pytest.raises(Started):
            server.start()
    assert "--workers" not in argv[0]
    assert argv[1][argv[1].index("--workers") + 1] == "5"
