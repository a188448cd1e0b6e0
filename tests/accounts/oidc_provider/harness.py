"""The test OpenID Connect provider as a pytest fixture, and the browser's part of a sign-in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

OIDC_CLIENT_ID = "bookstore"
OIDC_CLIENT_SECRET = "provider-test-secret-0123456789abcdef"
OIDC_REDIRECT_URI = "http://frontend.test/auth/oidc/testidp/callback"
_REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class OidcProviderProcess:
    url: str

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def settings(self) -> dict[str, str]:
        """The store's configuration of this provider (one entry of ``OIDC_PROVIDERS``)."""
        return {
            "issuer": self.issuer,
            "client_id": OIDC_CLIENT_ID,
            "client_secret": OIDC_CLIENT_SECRET,
            "scopes": "openid email profile",
            "redirect_uri": OIDC_REDIRECT_URI,
        }

    def add_user(self, **fields: object) -> None:
        response = requests.post(f"{self.url}/test/users", json=fields, timeout=10)
        assert response.status_code == 201, response.text

    def set_fault(self, fault: str) -> None:
        requests.post(f"{self.url}/test/mode", json={"fault": fault}, timeout=10).raise_for_status()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProviderProcess]:
    """django-oauth-toolkit with OpenID Connect, in its own process on a free port, for the whole session."""
    with tempfile.TemporaryDirectory(prefix="oidc-provider-") as folder:
        port = _free_port()
        log = open(Path(folder) / "provider.log", "w+b")  # noqa: SIM115
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.accounts.oidc_provider.serve",
                str(port),
                str(Path(folder) / "provider.sqlite3"),
                OIDC_CLIENT_SECRET,
                OIDC_REDIRECT_URI,
            ],
            cwd=_REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        provider = OidcProviderProcess(url=f"http://127.0.0.1:{port}")
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"the OIDC test provider exited: {log.read().decode(errors='replace')[-3000:]}")
                try:
                    if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the OIDC test provider did not start within 60 s")
                time.sleep(0.2)
            yield provider
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def authorize(provider: OidcProviderProcess, authorization_url: str, username: str, password: str) -> dict[str, str]:
    """The browser at the provider: sign in, open the authorization URL, come back with ``code`` and ``state``."""
    browser = requests.Session()
    assert browser.post(f"{provider.url}/login", data={"username": username, "password": password}, timeout=10).ok
    response = browser.get(authorization_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == OIDC_REDIRECT_URI
    query = parse_qs(back.query)
    assert "code" in query, query
    return {"code": query["code"][0], "state": query["state"][0]}
