"""`make test` without PostgreSQL, Redis or RabbitMQ: marked tests are skipped and reported, or fail in strict mode."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import STRICT_ENV, ServicesPlugin, probe, services_from_env

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = """
import pytest

@pytest.mark.requires_rabbitmq
def test_needs_rabbitmq():
    pass

def test_needs_nothing():
    pass
"""


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


def _live_port(sock: socket.socket) -> int:
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return int(sock.getsockname()[1])


def _run_sample(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    requires_postgres\n    requires_redis\n    requires_rabbitmq\n"
    )
    (tmp_path / "conftest.py").write_text(
        "from tests.services import ServicesPlugin\n\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(ServicesPlugin(), 'bookstore-services')\n"
    )
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    run_env = {key: value for key, value in os.environ.items() if key not in {STRICT_ENV, "RABBITMQ_URL"}}
    run_env |= {"PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:randomly", "-p", "no:cacheprovider", "-rs"],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_server_skips_its_tests_and_the_run_says_how_to_run_them(tmp_path: Path):
    result = _run_sample(tmp_path, RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:{_dead_port()}//")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "1 passed, 1 skipped" in out
    section = out.split("tests that need a server that is not running", 1)[1]
    assert "RabbitMQ" in section
    assert "test_sample.py::test_needs_rabbitmq" in section
    assert "test_needs_nothing" not in section
    assert "make services" in section
    assert "RABBITMQ_URL=" in section


def test_strict_mode_fails_a_test_whose_server_is_missing(tmp_path: Path):
    result = _run_sample(tmp_path, RABBITMQ_URL=f"amqp://127.0.0.1:{_dead_port()}//", **{STRICT_ENV: "1"})
    out = result.stdout
    assert result.returncode == 1, out
    assert "test_needs_rabbitmq" in out
    assert "RabbitMQ" in out.split("tests that need a server that is not running", 1)[1]
    assert "skipped" not in out.splitlines()[-1]


def test_every_server_answering_means_nothing_is_missing():
    with socket.socket() as redis, socket.socket() as rabbit:
        redis_port, rabbit_port = _live_port(redis), _live_port(rabbit)
        plugin = ServicesPlugin(
            {"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "RABBITMQ_URL": f"amqp://127.0.0.1:{rabbit_port}//"}
        )
        plugin.services["requires_redis"].addresses = [("127.0.0.1", redis_port)]
        assert plugin._missing("requires_redis") == ""
        assert plugin._missing("requires_rabbitmq") == ""


def test_addresses_follow_the_environment():
    services = services_from_env(
        {
            "DATABASE_URL": "postgres://postgres@db.internal:6543/shop",
            "REDIS_URL": "redis://cache:6380/3",
            "RABBITMQ_URL": "amqp://guest:guest@mq:5673//",
        }
    )
    # The reliability tests always use the local servers, so those stay on the list.
    assert services["requires_postgres"].addresses == [("127.0.0.1", 5432), ("db.internal", 6543)]
    assert services["requires_redis"].addresses == [("127.0.0.1", 6379), ("cache", 6380)]
    assert services["requires_rabbitmq"].addresses == [("mq", 5673)]
    sqlite = services_from_env({"DATABASE_URL": "sqlite:///db.sqlite3"})
    assert sqlite["requires_postgres"].addresses == [("127.0.0.1", 5432)]


def test_probe_names_the_unreachable_address():
    port = _dead_port()
    assert probe([("127.0.0.1", port)]) == f"127.0.0.1:{port} unreachable (Connection refused)"


def _marked_modules() -> dict[str, set[str]]:
    """Test modules by the service markers their ``pytestmark`` carries."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("requires_"):
                found.setdefault(str(path.relative_to(ROOT)), set()).add(node.attr)
    return found


@pytest.mark.parametrize(
    ("module", "markers"),
    [
        ("tests/accounts/test_throttling_processes.py", {"requires_redis"}),
        *(
            (f"tests/reliability/{name}", {"requires_postgres", "requires_redis"})
            for name in sorted(p.name for p in (ROOT / "tests" / "reliability").glob("test_*.py"))
        ),
    ],
)
def test_tests_that_start_servers_against_postgres_or_redis_are_marked(module: str, markers: set[str]):
    assert markers <= _marked_modules().get(module, set())
