"""bench/search.py runs end to end on a small seed: every kind of key finds the mandate it was
taken from, and each prints its median and p95 in the shared figure format; a second run copies
the database the first one seeded (bench/.cache, here a folder of the test's own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.report import LINE

ROOT = Path(__file__).resolve().parents[2]
KINDS = 13


def _run(tmp_path: Path) -> list[str]:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "search.py"), "--count", "400",
                           "--queries", "3", "--backend", "sqlite"],
                          check=False, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "BENCH_CACHE": str(tmp_path / "c")})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert not [line for line in lines if "missed" in line], done.stdout
    figures = [LINE.match(line) for line in lines if line.startswith("search sqlite ")]
    assert all(figures) and len(figures) == 2 * KINDS, done.stdout
    assert {f["baseline"] for f in figures if f["name"].endswith("p95")} == {"md_ id lookup p95"}
    return lines


def test_the_search_bench_finds_every_mandate_it_asks_for(tmp_path: Path) -> None:
    assert "sqlite: 400 mandates seeded" in "\n".join(_run(tmp_path))
    assert len(list((tmp_path / "c").iterdir())) == 1
    assert "sqlite: 400 mandates copied from bench/.cache" in "\n".join(_run(tmp_path))
