"""/metrics on a real gunicorn with two workers: one scrape sums what both processes counted."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.harness import ROOT, AppServer, server_env, wait_until

pytestmark = pytest.mark.slow

TOKEN = "gunicorn-scrape-token-0123456789"
# The requests the test counts go to the API root, which nothing else here calls
# (the harness's readiness probes call /healthz, and a probe that timed out may still be counted later).
COUNTED = {"route": "api-root", "method": "GET", "status": "200"}


def _counted(samples: list) -> float:
    return sum(s.value for s in samples if s.name == "bookstore_http_requests_total" and s.labels == COUNTED)


def _per_worker_counts(directory: Path) -> dict[int, float]:
    """Counted requests of each process, read from its own file in the metrics directory."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        samples = [s for m in MultiProcessCollector.merge([str(path)]) for s in m.samples]
        counts[pid] = _counted(samples)
    return counts


def _scrape(url: str) -> float:
    response = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return _counted([s for f in text_string_to_metric_families(response.text) for s in f.samples])


def _leave_stale_counts(directory: Path) -> None:
    """A file from an earlier run, as a crashed server would leave it: 1000 counted requests."""
    code = (
        "from telemetry.metrics import HTTP_REQUESTS;"
        "HTTP_REQUESTS.labels(route='api-root', method='GET', status='200').inc(1000)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    assert list(directory.glob("counter_*.db"))


def _live_process_counting(directory: Path) -> subprocess.Popen[bytes]:
    """A process still running on this machine (a Celery worker, say) that has counted 5 sent emails."""
    code = (
        "import sys, time; from telemetry.metrics import EMAILS_SENT; EMAILS_SENT.inc(5);"
        "print('counted', flush=True); time.sleep(120)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"counted"
    return process


def _emails_sent(url: str) -> float:
    response = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    families = text_string_to_metric_families(response.text)
    return sum(s.value for f in families for s in f.samples if s.name == "bookstore_emails_sent_total")


def test_metrics_sum_every_gunicorn_worker(tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    _leave_stale_counts(metrics_dir)
    neighbour = _live_process_counting(metrics_dir)
    env = server_env(
        database=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis="",
        CACHE_DIR=str(tmp_path / "cache"),
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    server = AppServer(env=env, log_path=tmp_path / "gunicorn.log", workers=2)
    server.start()
    try:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 401
        wrong = requests.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401
        workers = set(server.worker_pids())
        assert len(workers) == 2

        # The stale file is gone: nothing counted yet. The live neighbour's file stays and is summed in.
        assert _scrape(server.url) == 0
        assert _emails_sent(server.url) == 5
        sent = 0

        def both_served() -> bool:
            nonlocal sent
            with ThreadPoolExecutor(max_workers=4) as pool:
                statuses = list(
                    pool.map(lambda _: requests.get(f"{server.url}/api/v1/", timeout=10).status_code, range(20))
                )
            assert statuses == [200] * 20
            sent += 20
            counts = _per_worker_counts(metrics_dir)
            return all(counts.get(pid, 0) > 0 for pid in workers)

        wait_until(both_served, timeout=120, interval=0, message="both workers to answer")

        per_worker = _per_worker_counts(metrics_dir)
        # The master loads the application (preload_app), so it may have a file of its own, counting nothing.
        assert per_worker.pop(server.process.pid if server.process else 0, 0) == 0
        assert set(per_worker) == workers | {neighbour.pid}, per_worker
        assert per_worker.pop(neighbour.pid) == 0
        assert all(count > 0 for count in per_worker.values())
        assert sum(per_worker.values()) == sent
        # One scrape, answered by one worker, reports the sum over both.
        assert _scrape(server.url) == sent

        # A worker that dies takes its counts with it only in memory: its file stays in the sum.
        victim = next(iter(workers))
        server.kill_worker(victim)
        wait_until(lambda: victim not in server.worker_pids() and len(server.worker_pids()) == 2, timeout=60)
        server.wait_ready()
        assert _scrape(server.url) == sent
    finally:
        server.stop()
        neighbour.kill()
        neighbour.wait(timeout=10)
        print(server.log_tail(100))  # noqa: T201
