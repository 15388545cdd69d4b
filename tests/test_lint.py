"""``make test`` lints first: ruff over the code and mypy over ``signing/`` and every
``service.py``; a finding fails the run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Set by `make test` after its lint prerequisite passed: the same checks need not run twice.
already_linted = pytest.mark.skipif(os.environ.get("PORTAL_TESTS_LINTED") == "1",
                                    reason="make lint ran ruff and mypy before this run")


def _target(name: str) -> tuple[list[str], list[str]]:
    """A Makefile target's prerequisites and recipe lines."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{name}:([^\n]*)\n((?:\t[^\n]*\n)*)", text, re.MULTILINE)
    assert match, f"no {name} target"
    return match.group(1).split(), [line.strip() for line in match.group(2).splitlines()]


def test_make_test_runs_the_linters_first() -> None:
    prerequisites, _ = _target("test")
    assert "lint" in prerequisites
    _, recipe = _target("lint")
    assert "$(BIN)/ruff check portal signing tests bench" in recipe
    assert "$(BIN)/mypy" in recipe
    # The suite skips its own ruff and mypy runs only when make's lint already ran them.
    _, test_recipe = _target("test")
    assert [line for line in test_recipe if "PORTAL_TESTS_LINTED=1" in line] == [
        line for line in test_recipe if "pytest" in line]


def test_make_test_writes_bytecode_whatever_the_environment_says() -> None:
    """Each xdist worker and portal subprocess would otherwise compile the project and rewrite
    every test module's asserts again (Makefile, `test`)."""
    _, test_recipe = _target("test")
    pytest_lines = [line for line in test_recipe if "pytest" in line]
    assert pytest_lines and all(line.startswith("env -u PYTHONDONTWRITEBYTECODE ")
                                for line in pytest_lines)


def test_mypy_covers_signing_and_every_service_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    covered = {path for pattern in config["files"] for path in ROOT.glob(pattern)}
    services = set((ROOT / "portal").rglob("service.py"))
    assert services and services <= covered
    assert ROOT / "signing" in covered


@already_linted
def test_ruff_finds_nothing() -> None:
    result = subprocess.run([str(BIN / "ruff"), "check", "portal", "signing", "tests", "bench"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow
@already_linted
def test_mypy_finds_nothing() -> None:
    result = subprocess.run([str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
