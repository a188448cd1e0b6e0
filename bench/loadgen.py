"""Drive wrk: install it if missing, write a scenario's Lua config, run, parse the JSON summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA_SCRIPT = Path(__file__).resolve().parent / "lua" / "scenario.lua"


def ensure_wrk() -> str:
    """Path of wrk; installs Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing Debian's package ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still missing after apt-get install")
    return found


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).splitlines()[0].strip()


def to_lua(value: Any) -> str:
    """Render a JSON-like Python value as a Lua literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid Lua escapes for this data
    if isinstance(value, list | tuple):
        return "{" + ",".join(to_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"[{json.dumps(str(k))}]={to_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot render {type(value).__name__} as Lua")


@dataclass
class Load:
    """What wrk sends: every request picks one of ``paths`` (and of ``bodies``) at random."""

    paths: list[str]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    bodies: list[str] = field(default_factory=list)
    header_sets: list[dict[str, str]] = field(default_factory=list)  # one picked per request, replaces headers
    connections: int = 8
    timeout_s: int = 10


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    errors: dict[str, int]
    latency_ms: dict[str, float]
    status: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, predicate: Any) -> int:
        return sum(n for code, n in self.status.items() if predicate(int(code)))

    @property
    def ok(self) -> int:
        return self.count(lambda c: 200 <= c < 300)

    @property
    def server_errors(self) -> int:
        return self.count(lambda c: c >= 500)

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.rps, 1),
            "ok_rps": round(self.ok / self.duration_s, 1) if self.duration_s else 0.0,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "socket_errors": self.errors,
        }


def run_wrk(wrk: str, url: str, load: Load, duration_s: float, threads: int = 1) -> WrkResult:
    """One bounded wrk run against ``url``; returns the parsed ``done`` summary."""
    cfg = {
        "method": load.method,
        "headers": load.headers,
        "paths": load.paths,
        "bodies": load.bodies,
        "header_sets": load.header_sets,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write("return " + to_lua(cfg) + "\n")
        cfg_path = handle.name
    try:
        argv = [
            wrk,
            f"-t{threads}",
            f"-c{max(load.connections, threads)}",
            f"-d{max(1, round(duration_s))}s",
            f"--timeout={load.timeout_s}s",
            "-s",
            str(LUA_SCRIPT),
            url,
        ]
        done = subprocess.run(
            argv,
            env={**os.environ, "BENCH_CFG": cfg_path},
            capture_output=True,
            text=True,
            timeout=duration_s + load.timeout_s + 60,
            check=False,
        )
    finally:
        os.unlink(cfg_path)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            lat = data["latency_us"]
            latency_ms = {f"p{k}": round(v / 1000, 2) for k, v in lat["percentiles"].items()}
            latency_ms.update(mean=round(lat["mean"] / 1000, 2), max=round(lat["max"] / 1000, 2))
            return WrkResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                errors=data["errors"],
                latency_ms=latency_ms,
                status={str(k): int(v) for k, v in data["status"].items()},
            )
    raise RuntimeError(f"wrk printed no summary (exit {done.returncode}): {done.stderr.strip()[:500]}")
