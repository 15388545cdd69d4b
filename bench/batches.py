"""Check and import a CSV of N mandates to import on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/batches.py [--count 2000] [--backend sqlite|postgresql|both]

The file (N rows: reference, scheme, signature date, IBAN, debtor, sequence history) is stored
as an upload, then the two background jobs run as a worker runs them: the check (the dry run:
every row, the references against the merchant's, progress committed every 1,000 rows) and
the import (one transaction: per mandate a customer, the mandate with its encrypted and hashed
IBAN, its history, the audit event and the outbox event). Each backend runs in its own child
process so its peak RSS is its own; the figures are seconds, rows per second and peak RSS.
While the import runs, a second connection reads its progress as the console's page does
(twice a second) and counts the distinct figures it saw. The issue's size is ``--count
100000`` (or ``--large``); the default is short for a shared machine.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.figures import figure

HEADER = ("reference,scheme,signature_date,iban,bic,debtor_name,debtor_address_line,"
          "debtor_postal_code,debtor_city,debtor_country,email,last_sequence_type,"
          "last_collection_date")


def csv_bytes(count: int) -> bytes:
    from schwifty import IBAN

    out = io.StringIO()
    out.write(HEADER + "\r\n")
    for n in range(1, count + 1):
        iban = IBAN.generate("NL", bank_code="ABNA", account_code=f"{n:010d}")
        history = "RCUR,2026-10-01" if n % 3 else ","
        out.write(f"OLD-{n:08d},CORE,2024-05-17,{iban},ABNANL2A,Debtor {n},Dorpsstraat {n},"
                  f"1234 AB,Utrecht,NL,debtor{n}@example.org,{history}\r\n")
    return out.getvalue().encode()


def run(url: str, count: int, folder: Path) -> dict:
    from sqlalchemy import func, select

    from portal import create_app, migrate
    from portal.batches.models import BatchKind, BatchStatus, CsvBatch
    from portal.batches.service import CHECK_JOB, IMPORT_JOB, Limits, store_upload
    from portal.db import session_scope, state
    from portal.jobs.service import run_due_jobs
    from portal.mandates.models import Mandate
    from portal.merchants.service import MerchantDetails, create_merchant

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "DATA_KEY": "bench", "AUDIT_KEY": "bench", "INSTANCE_PATH": str(folder),
                      "BATCH_MAX_ROWS": max(count, 100_000),
                      "CLOCK": lambda: datetime(2026, 11, 2, 9, tzinfo=UTC)})
    migrate.upgrade(state(app).engine)
    data = csv_bytes(count)
    with app.app_context():
        with session_scope(app) as session:
            merchant = create_merchant(session, MerchantDetails(
                legal_name="Bench B.V.", address_line="Dam 1", postal_code="1012 JS",
                city="Amsterdam", country="NL", creditor_id="DE98ZZZ09999999999"))
            session.flush()
            batch = store_upload(session, merchant.id, BatchKind.MANDATES, "bench.csv",
                                 io.BytesIO(data), import_requested=True, actor="staff:bench",
                                 now=datetime(2026, 11, 2, 9, tzinfo=UTC),
                                 limits=Limits(max_bytes=len(data) + 1)).batch
            batch_id = batch.id
        started_rss = _rss_mb()
        started, started_cpu = time.perf_counter(), time.process_time()
        run_due_jobs(app, kinds=(CHECK_JOB,))
        checked, checked_cpu = time.perf_counter(), time.process_time()
        with _watching(app, batch_id) as seen:
            run_due_jobs(app, kinds=(IMPORT_JOB,))
        imported, imported_cpu = time.perf_counter(), time.process_time()
        with session_scope(app) as session:
            status = session.get_one(CsvBatch, batch_id).status
            mandates = session.scalar(select(func.count()).select_from(Mandate))
    state(app).dispose()
    if status is not BatchStatus.IMPORTED or mandates != count:
        raise SystemExit(f"bench import failed: {status}, {mandates} mandates")
    return {"check": checked - started, "import": imported - checked, "bytes": len(data),
            "check_cpu": checked_cpu - started_cpu, "import_cpu": imported_cpu - checked_cpu,
            "start_rss_mb": started_rss, "progress_seen": len(seen)}


def _rss_mb() -> float:
    """The process's resident memory now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def _watching(app, batch_id: int) -> Iterator[set[int]]:
    """What the console's page would show while the import runs: the rows written so far,
    read twice a second through a connection of its own (each distinct count is collected)."""
    from portal.batches.models import BatchStatus, CsvBatch
    from portal.batches.progress import rows_written
    from portal.db import state

    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            with state(app).factory() as session:
                batch = session.get_one(CsvBatch, batch_id)
                if batch.status is BatchStatus.IMPORTING and (rows := rows_written(session,
                                                                                   batch)):
                    seen.add(rows)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


def child(backend: str, count: int) -> None:
    from bench.databases import migrated_copy

    if backend == "postgresql":
        from tests.pgcluster import find_pg_bin

        if find_pg_bin() is None:
            raise SystemExit("PostgreSQL is not installed: make system-deps installs it")
    with tempfile.TemporaryDirectory() as folder, migrated_copy(backend, Path(folder)) as url:
        # A migrated, empty database copied from bench/.cache: the import starts from the
        # same schema as a fresh one, without the seconds of migrations (and initdb) first.
        result = run(url, count, Path(folder))
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="rows in the file")
    parser.add_argument("--large", action="store_const", const=100_000, dest="count",
                        help="the issue's size: 100,000 rows")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.count)
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        done = subprocess.run([sys.executable, __file__, "--child", backend, "--count",
                               str(args.count)], capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        size = f"{args.count} rows, {result['bytes'] / 1e6:.1f} MB"
        figure(f"batch check on {backend} ({size})", result["check"], "s")
        figure(f"batch import on {backend} ({size}, one transaction)", result["import"], "s")
        figure(f"batch check, then import, CPU of the portal's process on {backend} (the "
               "database server's aside)", result["check_cpu"] + result["import_cpu"], "s")
        figure(f"batch import rows per second on {backend} (wall)",
               args.count / result["import"], "rows/s")
        figure(f"batch check+import throughput on {backend}",
               args.count / (result["check"] + result["import"]), "rows/s")
        figure(f"batch peak RSS on {backend} ({args.count} rows, whole process)",
               result["rss_mb"], "MB")
        figure(f"batch peak RSS over the app's own on {backend} ({args.count} rows)",
               result["rss_mb"] - result["start_rss_mb"], "MB")
        figure(f"batch import progress counts seen on {backend} (read every 0.5 s)",
               result["progress_seen"], "")


if __name__ == "__main__":
    main()
