"""bench/search.py runs end to end on a small seed: every kind of key finds the mandate it was
taken from, and each prints its median and p95 in the shared figure format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.report import LINE

ROOT = Path(__file__).resolve().parents[2]
KINDS = 13


def test_the_search_bench_finds_every_mandate_it_asks_for(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "search.py"), "--count", "400",
                           "--queries", "3", "--backend", "sqlite"],
                          check=False, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert not [line for line in lines if "missed" in line], done.stdout
    figures = [LINE.match(line) for line in lines if line.startswith("search sqlite ")]
    assert all(figures) and len(figures) == 2 * KINDS, done.stdout
    assert {f["baseline"] for f in figures if f["name"].endswith("p95")} == {"md_ id lookup p95"}
