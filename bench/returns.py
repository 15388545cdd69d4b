"""Import a camt.054 with N entries: the streaming read alone, and the whole import into SQLite.

Usage: .venv/bin/python bench/returns.py [--count 100000] [--import-count 100000] [--no-import]

The file is written by the sandbox bank's streaming camt.054 writer: 95% collected, 5% AM04
returns (which are retried). "read" parses it with the hardened streaming reader and counts the
lines. "import" is what ``POST /api/v1/returns`` does: both passes (every EndToEndId checked
first, then applied in chunks), each debit's transition with its audit and merchant event, and
retries planned for the returns, into a fresh SQLite database holding the N submitted debits.
Each runs in its own child process so its peak RSS is its own; the database is seeded in
another. The import's figure is its own peak: the importing process's peak during the import
less what that portal process held just before it (its code, the app, the adapters: about
170 MB, which the whole process's peak is printed with). Target: under 100 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.figures import figure

TARGET_RSS_MB = 100.0
BOOKED = date(2026, 4, 7)


def e2e(i: int) -> str:
    return f"BENCH{i:017d}-1"


def write_file(path: Path, count: int) -> None:
    from portal.collections.camt054 import CamtEntry, write_camt054

    entries = (CamtEntry(e2e(i), f"MP-{i:010d}", 500 + (i * 37) % 20000, BOOKED,
                         "AM04" if i % 20 == 7 else None,
                         "Insufficient funds" if i % 20 == 7 else None) for i in range(count))
    with path.open("wb") as out:
        write_camt054(out, message_id="BENCH-CAMT-1", created_at=datetime(2026, 4, 8, 6),
                      account_iban="NL91ABNA0417164300", entries=entries)


def run_read(path: Path) -> dict:
    from portal.collections.reports import read_report

    started = time.perf_counter()
    _kind, lines = read_report(path)
    count = sum(1 for _ in lines)
    return {"seconds": time.perf_counter() - started, "count": count}


def _seed(app, count: int) -> int:
    """A merchant with ``count`` active mandates, each with one submitted debit (bulk)."""
    from sqlalchemy import insert

    from portal.collections.models import Debit, DebitAttempt
    from portal.collections.service import configure_collections
    from portal.db import session_scope
    from portal.mandates.models import Customer, Mandate
    from portal.merchants.service import MerchantDetails, create_merchant

    now = datetime(2026, 3, 25, 9, tzinfo=UTC)
    with session_scope(app) as session:
        merchant = create_merchant(session, MerchantDetails(
            legal_name="Bench B.V.", address_line="Dam 1", postal_code="1012 JS",
            city="Amsterdam", country="NL", creditor_id="DE98ZZZ09999999999"))
        configure_collections(session, merchant.id, actor="bench",
                              creditor_iban="NL91ABNA0417164300")
        merchant_id = merchant.id
    step = 5000
    with session_scope(app) as session:
        for start in range(0, count, step):
            ids = range(start + 1, min(start + step, count) + 1)
            session.execute(insert(Customer), [
                {"id": i, "public_id": f"cus_bench{i:014d}", "merchant_id": merchant_id,
                 "name": "Sam de Vries", "locale": "nl", "created_at": now} for i in ids])
            session.execute(insert(Mandate), [
                {"id": i, "public_id": f"md_bench{i:014d}", "merchant_id": merchant_id,
                 "customer_id": i, "reference": f"MP-{i - 1:010d}", "scheme": "CORE",
                 "sequence_type": "recurrent", "status": "active", "locale": "nl",
                 "debtor_name": "Sam de Vries", "signed_at": now, "created_at": now,
                 "updated_at": now, "version": 1} for i in ids])
            session.execute(insert(Debit), [
                {"id": i, "public_id": f"dbt_bench{i:014d}", "merchant_id": merchant_id,
                 "mandate_id": i, "customer_id": i, "route": "bank", "scheme": "CORE",
                 "status": "submitted", "amount_cents": 500 + ((i - 1) * 37) % 20000,
                 "original_amount_cents": 500 + ((i - 1) * 37) % 20000,
                 "description": "Membership", "final": False, "collection_date": BOOKED,
                 "sequence_type": "RCUR", "attempt": 1, "will_retry": False,
                 "created_at": now, "updated_at": now, "version": 1} for i in ids])
            session.execute(insert(DebitAttempt), [
                {"id": i, "debit_id": i, "merchant_id": merchant_id, "mandate_id": i,
                 "number": 1, "end_to_end_id": e2e(i - 1), "sequence_type": "RCUR",
                 "collection_date": BOOKED, "amount_cents": 500 + ((i - 1) * 37) % 20000,
                 "mandate_reference": f"MP-{i - 1:010d}", "creditor_id": "DE98ZZZ09999999999",
                 "created_at": now} for i in ids])
    return merchant_id


#: The import's database in its folder: a migrated, empty one copied from bench/.cache.
DATABASE_FILE = "migrated.sqlite3"


def _app(folder: Path):
    from portal import create_app

    return create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / DATABASE_FILE}",
                       "SECRET_KEY": "bench", "DATA_KEY": "bench", "INSTANCE_PATH": str(folder),
                       "CLOCK": lambda: datetime(2026, 4, 8, 8, tzinfo=UTC)})


def run_seed(count: int, folder: Path) -> dict:
    """The database the import finds: ``count`` submitted debits (in a process of its own, so
    that what seeding holds is not counted against the import)."""
    from bench.databases import migrated_copy
    from portal import migrate
    from portal.db import state

    with migrated_copy("sqlite", folder):
        pass  # a migrated, empty database copied from bench/.cache stays as DATABASE_FILE
    app = _app(folder)
    migrate.upgrade(state(app).engine)
    with app.app_context():
        merchant_id = _seed(app, count)
    state(app).dispose()
    return {"merchant_id": merchant_id}


def _memory() -> dict[str, float]:
    """This process's resident set and its peak since the last :func:`_reset_peak`, in MB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text()
                  .splitlines() if ":" in line)
    return {name: int(status[field].split()[0]) / 1024
            for name, field in (("rss", "VmRSS"), ("peak", "VmHWM"))}


def _reset_peak() -> None:
    """Start the peak (VmHWM) again from the current resident set (Linux's clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def run_import(path: Path, merchant_id: int, folder: Path) -> dict:
    """What ``POST /api/v1/returns`` does, in a fresh portal process on the seeded database:
    the import's own peak is this process's peak during it, less what the process held just
    before (the portal itself: its code, app and adapters)."""
    from portal.adapters import get_adapters
    from portal.collections.returns import import_report
    from portal.db import session_scope

    app = _app(folder)
    with app.app_context():
        collectors = get_adapters(app).collectors
        _reset_peak()
        before = _memory()["rss"]
        started = time.perf_counter()
        with session_scope(app) as session:
            result = import_report(session, merchant_id, path, collectors, source="bench",
                                   actor="bench")
        seconds = time.perf_counter() - started
        peak = _memory()["peak"]
    return {"seconds": seconds, "count": sum(result.counts.values()), "counts": result.counts,
            "portal_mb": before, "import_mb": peak - before}


def child(kind: str, path: Path, count: int, folder: Path | None, merchant_id: int) -> None:
    if kind == "read":
        result = run_read(path)
    elif kind == "seed":
        result = run_seed(count, folder)
    else:
        result = run_import(path, merchant_id, folder)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["rss_mb"] = usage.ru_maxrss / 1024
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the whole child, imports too
    print(json.dumps(result))


def _command(kind: str, path: Path, count: int, folder: Path | None = None,
             merchant_id: int = 0) -> list[str]:
    command = [sys.executable, __file__, "--child", kind, "--file", str(path), "--count",
               str(count), "--merchant", str(merchant_id)]
    return command + (["--folder", str(folder)] if folder is not None else [])


def _result(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def measure(kind: str, path: Path, count: int, folder: Path | None = None,
            merchant_id: int = 0) -> dict:
    done = subprocess.run(_command(kind, path, count, folder, merchant_id), capture_output=True,
                          text=True, check=True)
    return _result(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="entries in the file")
    parser.add_argument("--import-count", type=int, default=None,
                        help="entries for the database import (default: --count)")
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--child", choices=["read", "seed", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--merchant", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file), args.count,
              Path(args.folder) if args.folder else None, args.merchant)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "camt054.xml"
        count = args.import_count or args.count
        seeding = None
        if not args.no_import:
            # The import's database is seeded (its own process) while the file is written:
            # neither is measured, and the seeding is done before the read starts.
            database = Path(folder) / "import"
            database.mkdir()
            seeding = subprocess.Popen(_command("seed", path, count, database),
                                       stdout=subprocess.PIPE, text=True)
        write_file(path, args.count)
        size = path.stat().st_size
        if seeding is not None:
            out, _ = seeding.communicate()
            if seeding.returncode:
                raise SystemExit("seeding the import's database failed")
            seeded = _result(out)
        read = measure("read", path, args.count)
        figure(f"returns read camt.054 ({args.count} entries, {size / 1e6:.0f} MB)",
               read["seconds"], "s")
        figure(f"returns read throughput ({args.count} entries)", read["count"] /
               read["seconds"], "entries/s")
        figure(f"returns read CPU time ({args.count} entries, whole process)",
               read["cpu_seconds"], "s")
        figure(f"returns read peak RSS ({args.count} entries)", read["rss_mb"], "MB",
               below=TARGET_RSS_MB)
        if seeding is not None:
            if count != args.count:
                write_file(path, count)
            imported = measure("import", path, count, database, seeded["merchant_id"])
            figure(f"returns import into SQLite ({count} debits, audit and events)",
                   imported["seconds"], "s")
            figure(f"returns import throughput ({count} debits)",
                   imported["count"] / imported["seconds"], "debits/s")
            figure(f"returns import CPU time ({count} debits, whole process)",
                   imported["cpu_seconds"], "s")
            figure(f"returns import peak RSS ({count} debits, the import's own: above the "
                   f"{imported['portal_mb']:.0f} MB portal process)", imported["import_mb"],
                   "MB", below=TARGET_RSS_MB)
            figure(f"returns import process peak RSS ({count} debits, with the portal)",
                   imported["rss_mb"], "MB")


if __name__ == "__main__":
    main()
