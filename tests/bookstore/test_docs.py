"""The documentation stands alone in a clone: no links out of the repository, the API schema committed and current."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_SUFFIXES = {".md", ".html", ".txt", ".rst", ".yaml", ".yml"}
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _tracked_docs() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        ).stdout.split()
        files = [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked archive)
        files = [path for path in ROOT.rglob("*") if ".venv" not in path.parts and ".git" not in path.parts]
    return [path for path in files if path.suffix in DOC_SUFFIXES and path.is_file() and "tests" not in path.parts]


def test_no_tracked_doc_links_outside_the_repository():
    """`../shared/` exists beside the team's checkouts, not in a clone of the product."""
    docs = _tracked_docs()
    assert ROOT / "README.md" in docs
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in docs
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if "../shared" in line or "shared/API.md" in line or "shared/ARCHITECTURE.md" in line
    ]
    assert offenders == []


def test_relative_links_in_markdown_point_at_files_of_the_repository():
    broken = []
    for path in _tracked_docs():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_readme_links_the_api_reference_and_the_architecture():
    links = set(MARKDOWN_LINK.findall((ROOT / "README.md").read_text()))
    assert {"docs/api.md", "docs/openapi.yaml", "docs/architecture.md"} <= links


def test_api_page_links_the_schema():
    assert "(openapi.yaml)" in (ROOT / "docs" / "api.md").read_text()


def test_committed_openapi_schema_matches_the_code(tmp_path: Path):
    """What `make openapi` writes: `manage.py spectacular` on the default (SQLite) settings.

    Generated in a fresh process on SQLite because Django derives the
    bounds of integer fields from the database backend (PostgreSQL's are 32-bit),
    so the committed document is the one every checkout produces.
    """
    generated = tmp_path / "openapi.yaml"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "SECRET_KEY": "openapi-check-" + "x" * 40,
        "DATABASE_URL": "sqlite:///:memory:",  # as `make openapi` does
        "REDIS_URL": "",
    }
    subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--file", str(generated)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    committed = (ROOT / "docs" / "openapi.yaml").read_text()
    assert generated.read_text() == committed, (
        "docs/openapi.yaml is out of date with the code: run `make openapi` and commit the result"
    )
