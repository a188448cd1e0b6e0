"""OWASP API7:2023 Server-side request forgery and API10:2023 Unsafe consumption of APIs.

The API fetches no URL a client supplies. The one third-party API it calls
itself is an OpenID Connect provider the shop configured (``accounts/oidc.py``):
only the configured issuer's discovery document, and the JWKS, token and
userinfo endpoints that document names, with timeouts; the document must name
the configured issuer, and every ID token is verified before anything in it is
used (tests/accounts/test_oidc.py). These tests keep it that way, so that adding
another outbound call is a deliberate decision that comes with its own defences
(allow-lists, timeouts, validation of what comes back) rather than an accident.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ["accounts", "bookstore", "catalog", "orders"]
OUTBOUND_MODULES = {"requests", "httpx", "urllib.request", "urllib3", "http.client", "aiohttp", "socket", "smtplib"}
URL_LIKE = re.compile(r"(url|uri|href|callback|webhook|host|endpoint)", re.IGNORECASE)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


#: Reviewed outbound calls: module → why it is safe.
ALLOWED = {
    "accounts/oidc.py: requests": "the configured OIDC issuer and the endpoints its discovery document names",
}


def test_application_code_has_no_http_client():
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for package in APP_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for module in _imports(path)
        if any(module == banned or module.startswith(f"{banned}.") for banned in OUTBOUND_MODULES)
    }
    assert offenders == set(ALLOWED)


@pytest.mark.django_db
def test_no_request_field_takes_a_url_or_host():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    suspicious = []
    for name, component in schema["components"]["schemas"].items():
        if not name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: request bodies end in "Request"
            continue
        for field, spec in component.get("properties", {}).items():
            if spec.get("readOnly"):
                continue
            if spec.get("format") in {"uri", "url", "hostname"} or URL_LIKE.search(field):
                suspicious.append(f"{name}.{field}")
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if URL_LIKE.search(parameter["name"]) or parameter["schema"].get("format") == "uri":
                    suspicious.append(f"{method.upper()} {path} {parameter['name']}")
    assert not suspicious


def test_pagination_links_are_built_from_the_allowed_host_only(api_client, settings, db):
    # The one place the API writes URLs: a forged Host header must not reach them.
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    forged = api_client.get("/api/v1/books", HTTP_HOST="evil.example")
    assert forged.status_code == 400
    honest = api_client.get("/api/v1/", HTTP_HOST="shop.example.com")
    assert all(link.startswith("http://shop.example.com/") for key, link in honest.json().items() if key != "currency")
