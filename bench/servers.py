"""Start, probe, measure and stop the gunicorn servers of a benchmark run."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROD_VENV = ROOT / "var" / "bench-venv"


def ensure_production_venv() -> Path:
    """``bin/`` of a virtualenv with requirements.txt only, as a production install has.

    The development tools (requests, Pygments, ...) are importable in the
    project's .venv, and DRF imports them when present, which would inflate
    the workers' memory. Rebuilt when requirements.txt changes.
    """
    requirements = (ROOT / "requirements.txt").read_bytes()
    digest = hashlib.sha256(requirements).hexdigest()
    marker = PROD_VENV / ".requirements.sha256"
    bin_dir = PROD_VENV / "bin"
    if marker.exists() and marker.read_text() == digest and (bin_dir / "gunicorn").exists():
        return bin_dir
    print("building the production virtualenv var/bench-venv (requirements.txt only) ...", flush=True)
    shutil.rmtree(PROD_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PROD_VENV)], check=True)
    pip = [str(bin_dir / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "-r", str(ROOT / "requirements.txt")], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip install -r requirements.txt failed:\n{done.stderr[-3000:]}")
    marker.write_text(digest)
    return bin_dir


def compile_project(bin_dir: Path) -> None:
    """Write the bytecode of the project's packages, as the image does when it is built (Dockerfile).

    Without it (PYTHONDONTWRITEBYTECODE, or a fresh checkout) every server compiles the project from source
    at start, and the workers would carry the compiler's leftovers, which a deployed worker does not.
    """
    packages = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests")
    subprocess.run([str(bin_dir / "python"), "-m", "compileall", "-q", *packages], cwd=ROOT, check=True)


def default_workers(bin_dir: Path, env: dict[str, str]) -> int:
    """The number of workers ``gunicorn.conf.py`` starts without ``--workers`` in ``env``: production's.

    Read from the file itself (with the interpreter that runs the servers), so
    the harness waits for as many workers as production runs.
    """
    probe = "import runpy; print(runpy.run_path('gunicorn.conf.py')['workers'])"
    # A metrics directory given, so reading the file creates no temporary one.
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", probe],
        cwd=ROOT,
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int | None:
    """Resident set size of a process in KiB, from /proc/<pid>/status (None if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # The command name is in parentheses and may contain spaces; ppid follows it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(entry.name))
    return sorted(kids)


@dataclass
class Server:
    """One gunicorn master with its workers, run with the project's gunicorn.conf.py."""

    name: str
    app: str
    env: dict[str, str]
    workers: int  # how many to wait for at start
    log_dir: Path
    ready_path: str = "/"
    extra_args: list[str] = field(default_factory=list)
    bin_dir: Path = BIN
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    fixed_port: int = 0  # 0: any free port
    workers_flag: bool = True  # False: start gunicorn.conf.py's default number (``workers`` says how many that is)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.out.log"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.err.log"

    def start(self, timeout: float = 60.0) -> None:
        self.port = self.fixed_port or free_port()
        argv = [
            str(self.bin_dir / "gunicorn"),
            self.app,
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            *(["--workers", str(self.workers)] if self.workers_flag else []),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=self.stdout_path.open("ab"),
            stderr=self.stderr_path.open("ab"),
            start_new_session=True,  # its own process group, so stop() reaches every worker
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up; see {self.stderr_path}")
            if len(self.worker_pids()) >= self.workers and self._probe():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready within {timeout:.0f}s; see {self.stderr_path}")

    def _probe(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + self.ready_path, timeout=5) as response:
                return bool(response.status < 500)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def drain(self, timeout: float = 180.0) -> None:
        """Wait until the requests wrk left behind are served.

        wrk stops with up to one request per connection still queued; the
        server serves them anyway. One probe, accepted after all of them, comes
        back only once they are done, so the next run starts on an idle server.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=timeout) as response:
                    response.read()
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def worker_rss(self) -> dict[int, int]:
        """KiB per live worker pid."""
        out = {}
        for pid in self.worker_pids():
            value = rss_kib(pid)
            if value is not None:
                out[pid] = value
        return out

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
