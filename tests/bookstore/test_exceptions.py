"""The domain error bases import no DRF, so any layer (models, services, auth backends) may raise them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accounts.exceptions import ApiKeyRejected
from bookstore import errors
from bookstore.exceptions import Conflict, DomainError
from catalog.exceptions import AuthorHasBooks
from orders.exceptions import InvalidTransition

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module", ["bookstore.exceptions", "accounts.exceptions", "catalog.exceptions", "orders.exceptions"]
)
def test_domain_exception_modules_import_no_drf(module: str) -> None:
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'rest_framework'))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_app_errors_derive_from_the_drf_free_bases_the_handler_maps() -> None:
    assert errors.DomainError is DomainError
    assert issubclass(ApiKeyRejected, DomainError)
    assert issubclass(AuthorHasBooks, Conflict)
    assert issubclass(InvalidTransition, Conflict)
    response = errors.exception_handler(AuthorHasBooks(), {})
    assert response.status_code == 409
    assert response.data == {"error": {"code": "conflict", "message": AuthorHasBooks.default_message, "details": {}}}
