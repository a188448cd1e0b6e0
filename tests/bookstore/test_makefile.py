"""The Makefile keeps its promises: every declared target has a rule, a help line, and `make help` lists it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _phony() -> list[str]:
    targets: list[str] = []
    for line in re.findall(r"^\.PHONY:(.*)$", MAKEFILE, flags=re.MULTILINE):
        targets += line.split()
    return targets


def _rule(target: str) -> str | None:
    match = re.search(rf"^{re.escape(target)}:(?!=)(.*)$", MAKEFILE, flags=re.MULTILINE)
    return match.group(1) if match else None


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_declared_targets_include_the_documented_ones():
    assert {"help", "run", "test", "lint", "typecheck", "e2e", "services", "staff-password"} <= set(_phony())


@pytest.mark.parametrize("target", _phony())
def test_every_declared_target_has_a_rule_with_help_text(target: str):
    rule = _rule(target)
    assert rule is not None, f"`{target}` is declared .PHONY but has no rule"
    assert "## " in rule, f"`{target}` has no `## help` text, so `make help` leaves it out"
    assert "$(" not in rule.split("## ", 1)[1], f"the help text of `{target}` would print a raw make variable"


def test_make_help_lists_every_target_without_raw_variables():
    result = _make("help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith("make ")}
    assert listed == set(_phony())
    assert "$(" not in result.stdout


@pytest.mark.parametrize("target", _phony())
def test_every_declared_target_resolves(target: str):
    """`make -n` (print, run nothing) fails on a target without a rule or with a missing prerequisite."""
    result = _make("-n", target)
    assert result.returncode == 0, result.stderr
    assert "No rule to make target" not in result.stderr
