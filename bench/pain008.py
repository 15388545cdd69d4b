"""Build one pain.008 batch of N debits with our exporter and with sepaxml, in the same run.

Usage: .venv/bin/python bench/pain008.py [--count 100000] [--version pain.008.001.02]
                                         [--out FILE] [--no-baseline]

Ours: the streaming writer (lxml ``xmlfile``) into the content-addressed store, then the
streaming XSD validation, exactly as an export does. Baseline: sepaxml 2.7 building the same
debits in memory and validating with its own ``export(validate=True)``. Each runs in its own
child process, so each peak RSS (the whole process, not only the Python heap) is its own.
Prints one line per figure: ``name: value unit (ratio R× baseline)``. Targets: at least 5×
sepaxml's throughput with validation on both, XSD-valid output, under 100 MB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.figures import figure

CREDITOR = {"name": "Demo Sportclub B.V.", "iban": "NL91ABNA0417164300", "bic": "ABNANL2A",
            "creditor_id": "DE98ZZZ09999999999"}
COLLECTION = date(2026, 4, 7)
SIGNED = date(2025, 1, 15)
NAMES = ("Sam de Vries", "Anna Jansen", "Bram de Boer", "Chloe Muller", "Daan Visser",
         "Eva de Wit", "Fleur Bakker", "Gijs Smit")
TARGET_SPEEDUP = 5.0
TARGET_RSS_MB = 100.0


def _iban(number: int) -> str:
    """A valid Dutch IBAN for account ``number`` at ABN AMRO (ISO 13616 check digits: the
    BBAN with letters as numbers, A=10 … Z=35, then "NL00", mod 97)."""
    account = f"{number % 10_000_000_000:010d}"
    check = 98 - int(f"10112310{account}232100") % 97
    return f"NL{check:02d}ABNA{account}"


def debit(i: int) -> dict:
    """The i-th debit, the same for both exporters."""
    return {"end_to_end_id": f"BENCH{i:012d}-1", "amount_cents": 500 + (i * 37) % 20000,
            "mandate_id": f"MP-{i:010d}", "debtor_name": NAMES[i % len(NAMES)],
            "debtor_iban": _iban(1_000_000 + i), "debtor_bic": "ABNANL2A",
            "remittance": f"Invoice {i} membership April"}


def run_ours(count: int, version: str, out: str | None) -> dict:
    from portal.collections.export_file import build_pain008_file
    from portal.collections.files import CollectionFileStore
    from portal.collections.pain008 import Creditor, PaymentGroup, Transaction

    def transactions() -> Iterator[Transaction]:
        for i in range(count):
            d = debit(i)
            yield Transaction(d["end_to_end_id"], d["amount_cents"], d["mandate_id"], SIGNED,
                              d["debtor_name"], d["debtor_iban"], d["debtor_bic"],
                              d["remittance"])

    total = sum(500 + (i * 37) % 20000 for i in range(count))
    with tempfile.TemporaryDirectory() as folder:
        store = CollectionFileStore(Path(folder))
        started = time.perf_counter()
        written = build_pain008_file(
            store, version=version, message_id="BENCH-0001",
            created_at=datetime(2026, 3, 25, 10, tzinfo=UTC).replace(tzinfo=None),
            initiating_party=CREDITOR["name"],
            creditor=Creditor(CREDITOR["name"], CREDITOR["iban"], CREDITOR["bic"],
                              CREDITOR["creditor_id"]),
            groups=[PaymentGroup("BENCH-0001-1", "CORE", "RCUR", COLLECTION, count, total,
                                 transactions())])
        seconds = time.perf_counter() - started
        if out:
            shutil.copyfile(written.path, out)
    return {"seconds": seconds, "bytes": written.size, "count": written.count}


def run_sepaxml(count: int, version: str) -> dict:
    import xmlschema
    from sepaxml import SepaDD

    # sepaxml validates with xmlschema, which refuses documents of over 1,000,000 elements
    # (about 50,000 debits): raised here so the baseline can validate the whole batch at all.
    xmlschema.limits.MAX_XML_ELEMENTS = 100_000_000

    config = {"name": CREDITOR["name"], "IBAN": CREDITOR["iban"], "BIC": CREDITOR["bic"],
              "batch": True, "creditor_id": CREDITOR["creditor_id"], "currency": "EUR"}
    started = time.perf_counter()
    sepa = SepaDD(config, schema=version, clean=True)
    for i in range(count):
        d = debit(i)
        sepa.add_payment({"name": d["debtor_name"], "IBAN": d["debtor_iban"],
                          "BIC": d["debtor_bic"], "amount": d["amount_cents"], "type": "RCUR",
                          "collection_date": COLLECTION, "mandate_id": d["mandate_id"],
                          "mandate_date": SIGNED, "description": d["remittance"],
                          "endtoend_id": d["end_to_end_id"]})
    output = sepa.export(validate=True)
    return {"seconds": time.perf_counter() - started, "bytes": len(output), "count": count}


def child(kind: str, count: int, version: str, out: str | None) -> None:
    result = run_ours(count, version, out) if kind == "ours" else run_sepaxml(count, version)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["rss_mb"] = usage.ru_maxrss / 1024
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the whole child, imports too
    print(json.dumps(result))


def measure(kind: str, count: int, version: str, out: str | None) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--count", str(count),
               "--version", version] + (["--out", out] if out else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--version", default="pain.008.001.02",
                        choices=["pain.008.001.02", "pain.008.001.08"])
    parser.add_argument("--out", help="write our file here")
    parser.add_argument("--no-baseline", action="store_true", help="skip sepaxml")
    parser.add_argument("--child", choices=["ours", "sepaxml"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.count, args.version, args.out)
        return
    ours = measure("ours", args.count, args.version, args.out)
    label = f"{args.count} debits, {args.version}, XSD-validated"
    base = None if args.no_baseline else measure("sepaxml", args.count, args.version, None)
    figure(f"pain008 ours time ({label})", ours["seconds"], "s")
    if base:
        figure(f"pain008 sepaxml time ({label})", base["seconds"], "s")
    figure(f"pain008 ours throughput ({label})", args.count / ours["seconds"], "debits/s",
           baseline="sepaxml" if base else None,
           baseline_value=args.count / base["seconds"] if base else None,
           ratio_at_least=TARGET_SPEEDUP if base else None)
    # On a shared machine wall time follows the load; the processes' CPU time much less so.
    figure(f"pain008 ours CPU time ({label}, whole process)", ours["cpu_seconds"], "s",
           baseline="sepaxml" if base else None,
           baseline_value=base["cpu_seconds"] if base else None)
    figure(f"pain008 ours peak RSS ({args.count} debits)", ours["rss_mb"], "MB",
           baseline="sepaxml" if base else None,
           baseline_value=base["rss_mb"] if base else None, below=TARGET_RSS_MB)
    if base:
        figure(f"pain008 sepaxml peak RSS ({args.count} debits)", base["rss_mb"], "MB")
    figure(f"pain008 ours file size ({args.count} debits)", ours["bytes"] / 1e6, "MB")
    if args.out:
        print(f"wrote {args.out} ({ours['count']} transactions, XSD-valid)")


if __name__ == "__main__":
    main()
