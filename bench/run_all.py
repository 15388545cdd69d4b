"""``make bench``: every bench with short defaults, then one summary table.

    .venv/bin/python bench/run_all.py [--full]

Prints the machine's load average before and after: the figures only mean something on a
quiet machine (other processes on the same cores lower them), and each bench's elapsed time.
The short run stays under 5 minutes because the benches do less of the same work (fewer
events, turns and queries, the same figures and baselines), not smaller cases: the search
still runs on 100,000 mandates, seeded once and then copied from ``bench/.cache``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[0] = str(BENCH.parent)  # bench/http.py would shadow the standard library's http

from bench.report import Figure, table

#: The short run's budget, all benches together (issue 11), and so also the most one may take.
BUDGET_SECONDS = 300
#: (script, its arguments for the short run, or None to skip it in the long run).
SHORT: list[tuple[str, list[str], bool]] = [
    # 24 mandates: the median of 8 moved by a tenth from run to run (the store's fsyncs), and
    # the ratio of 12 from 1.01x to 1.35x within an afternoon (40 gave 1.22x and 1.26x).
    ("pdf.py", ["--n", "24"], True),
    ("webhooks.py", ["--short"], True),
    # 120 flows, as the long run: the p99 of 40 was their slowest one. 3 turns of the signing
    # page: the "median" of 2 is their mean, and one slow turn of the baseline (2,279 against
    # 3,303 req/s in one run) moved the ratio by a tenth.
    ("http.py", ["--seconds", "2", "--rounds", "3", "--flows", "120", "--profile-flows", "8"],
     True),
    # The speed ratio against sepaxml on a batch it can build in seconds, then our memory at the
    # size the target names (sepaxml needs minutes there).
    ("pain008.py", ["--count", "10000"], True),
    ("pain008.py", ["--count", "100000", "--no-baseline"], False),
    ("returns.py", ["--count", "100000", "--import-count", "2000"], True),
    # Console search on the 100,000 mandates the target names: p95 < 50 ms per kind of key.
    ("search.py", ["--count", "100000", "--queries", "20"], True),
    ("batches.py", ["--count", "2000"], True),
]


def run_bench(command: list[str], env: dict[str, str], limit: float) -> int:
    """Run one bench; its exit status, or -1 if it overran ``limit`` seconds. One failing or
    hanging must not keep the others' figures from the table. An overrun is interrupted as
    Ctrl-C would (its whole process group), so that it stops the servers it started."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        print(f"\n{command[1]} overran {limit:.0f} s: interrupted", flush=True)
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", "--long", dest="long", action="store_true",
                        help="each bench's own (full-length) defaults")
    args = parser.parse_args()
    started, load_before = time.monotonic(), os.getloadavg()
    durations: list[tuple[str, float]] = []
    failed: list[Figure] = []
    limit = 3600 if args.long else BUDGET_SECONDS  # per bench
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as results:
        env = {**os.environ, "BENCH_RESULTS": results.name}
        for script, short, in_long_run in SHORT:
            if args.long and not in_long_run:
                continue
            arguments = [] if args.long else short
            print(f"\n== bench/{script} {' '.join(arguments)}", flush=True)
            began = time.monotonic()
            status = run_bench([sys.executable, str(BENCH / script), *arguments], env, limit)
            durations.append((script, time.monotonic() - began))
            if status:
                failed.append(Figure(f"bench/{script} {' '.join(arguments)} exit status",
                                     status, "code", target="0 (finished)", met=False))
        figures = [Figure(**json.loads(line)) for line in results.read().splitlines()]
    total = time.monotonic() - started
    figures += failed
    if not args.long:
        figures.append(Figure("make bench total time", total, "s", target=f"< {BUDGET_SECONDS} s",
                              met=total < BUDGET_SECONDS))
    load_after = os.getloadavg()
    print(f"\n{len(figures)} figures in {total:.0f} s on {os.cpu_count()} "
          f"CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"(1 min), {load_after[1]:.2f} (5 min)\n")
    print("time per bench: " + ", ".join(f"{script} {seconds:.0f} s"
                                         for script, seconds in durations) + "\n")
    print(table(figures))
    missed = [f.name for f in figures if f.met is False]
    print(f"\ntargets met: {sum(f.met is True for f in figures)} of "
          f"{sum(f.met is not None for f in figures)}" + (f"; missed: {', '.join(missed)}"
                                                         if missed else ""))


if __name__ == "__main__":
    main()
