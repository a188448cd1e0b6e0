"""gunicorn.conf.py's hooks: preloading, the frozen heap, and a recycled worker's quick exit."""

from __future__ import annotations

import gc
import logging
import os
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


class Exited(Exception):
    pass


@pytest.fixture
def conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    # A directory of our own, so loading the file does not make one (nor set it for this process).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("GUNICORN_PRELOAD", raising=False)
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    return runpy.run_path(str(CONF))


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record what the exit path does instead of doing it."""
    calls: list[str] = []
    from django.db import connections

    def exit_now(status: int) -> None:
        calls.append(f"_exit({status})")
        raise Exited

    monkeypatch.setattr(os, "_exit", exit_now)
    monkeypatch.setattr(logging, "shutdown", lambda: calls.append("logging.shutdown"))
    monkeypatch.setattr(connections, "close_all", lambda: calls.append("close_all"))
    return calls


def test_one_sync_worker_per_core_at_least_two_unless_set(conf: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    import multiprocessing

    assert conf["worker_class"] == "sync"
    assert conf["workers"] == max(2, multiprocessing.cpu_count())
    monkeypatch.setattr(multiprocessing, "cpu_count", lambda: 1)
    assert runpy.run_path(str(CONF))["workers"] == 2
    monkeypatch.setattr(multiprocessing, "cpu_count", lambda: 4)
    assert runpy.run_path(str(CONF))["workers"] == 4
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    assert runpy.run_path(str(CONF))["workers"] == 3


def test_the_application_is_preloaded_unless_turned_off(conf: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    assert conf["preload_app"] is True
    monkeypatch.setenv("GUNICORN_PRELOAD", "false")
    assert runpy.run_path(str(CONF))["preload_app"] is False


def test_a_recycled_worker_closes_its_connections_and_exits_at_once(conf: dict[str, Any], exits: list[str]):
    worker = SimpleNamespace(booted=True, nr=20_500, max_requests=20_500)
    with pytest.raises(Exited):
        conf["worker_exit"](None, worker)
    assert exits == ["close_all", "logging.shutdown", "_exit(0)"]


@pytest.mark.parametrize(
    "worker",
    [
        SimpleNamespace(booted=True, nr=12, max_requests=20_500),  # shut down (SIGTERM), not recycled
        SimpleNamespace(booted=False, nr=0, max_requests=20_500),  # failed to boot: its own exit status
        SimpleNamespace(booted=True, nr=12, max_requests=sys.maxsize),  # recycling off
    ],
)
def test_any_other_worker_exit_takes_the_usual_path(conf: dict[str, Any], exits: list[str], worker: Any):
    assert conf["worker_exit"](None, worker) is None
    assert exits == []


@pytest.mark.parametrize("preload", [True, False])
def test_a_preloading_master_freezes_its_heap_before_forking(
    conf: dict[str, Any], monkeypatch: pytest.MonkeyPatch, preload: bool
):
    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    conf["when_ready"](SimpleNamespace(cfg=SimpleNamespace(preload_app=preload)))
    assert frozen == ([True] if preload else [])
