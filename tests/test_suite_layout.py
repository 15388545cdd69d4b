"""The suite's speed conventions stay honest: every module named SQLite-only exists."""

from __future__ import annotations

from tests.conftest import ROOT, SQLITE_ONLY


def test_every_sqlite_only_module_exists() -> None:
    missing = sorted(path for path in SQLITE_ONLY if not (ROOT / path).is_file())
    assert not missing, f"renamed or removed; update SQLITE_ONLY in tests/conftest.py: {missing}"
