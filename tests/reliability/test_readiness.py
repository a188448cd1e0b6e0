"""/readyz on a real gunicorn server while its dependencies come and go (through cuttable proxies)."""

from __future__ import annotations

import socket

import pytest

from tests.reliability.http import call

pytestmark = [pytest.mark.slow, pytest.mark.requires_postgres, pytest.mark.requires_redis]


def test_readyz_names_each_dependency_that_is_down_and_recovers(stack):
    server = stack.start_server(workers=1)
    ok = {"database": "ok", "cache": "ok", "broker": "ok"}
    assert call("GET", f"{server.url}/readyz").json() == {"status": "ok", "checks": ok}

    stack.db_proxy.cut()
    down = call("GET", f"{server.url}/readyz")
    assert down.status_code == 503
    assert down.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "cache": "ok", "broker": "ok"},
    }
    assert int(down.headers["Retry-After"]) > 0
    assert call("GET", f"{server.url}/healthz").status_code == 200

    stack.db_proxy.restore()
    stack.redis_proxy.cut()
    down = call("GET", f"{server.url}/readyz")
    assert down.status_code == 503
    assert down.json()["checks"] == {"database": "ok", "cache": "unavailable", "broker": "ok"}

    stack.redis_proxy.restore()
    assert call("GET", f"{server.url}/readyz").json() == {"status": "ok", "checks": ok}
    worker_statuses = [r["status"] for r in server.log_records() if r.get("message") == "request"]
    assert 500 not in worker_statuses


def _ping(sock: socket.socket) -> bytes:
    sock.sendall(b"PING\r\n")
    return sock.recv(64)


def _dropped(sock: socket.socket) -> bool:
    """The connection is gone: reset, or closed without an answer."""
    try:
        return _ping(sock) == b""
    except ConnectionError:
        return True


def test_proxy_cut_refuses_new_connections_and_resets_open_ones(stack):
    """The fault the other tests inject looks like a crashed server: resets, then refusals."""
    address = ("127.0.0.1", stack.redis_proxy.port)
    with socket.create_connection(address, timeout=2) as probe:
        assert _ping(probe) == b"+PONG\r\n"
        stack.redis_proxy.cut()
        assert _dropped(probe)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=2)
    stack.redis_proxy.restore()
    with socket.create_connection(address, timeout=2) as again:
        assert _ping(again) == b"+PONG\r\n"
