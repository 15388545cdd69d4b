"""Webhook deliveries per second against a bare httpx loop posting the same payloads.

Starts a local receiver (its own process), creates N events in a temporary SQLite database (and
PostgreSQL when installed, through tests/pgcluster.py) and measures: one worker loop in this
process, then K ``flask --app portal worker`` processes; next to bare httpx, sequential and with
K threads. Every delivery is signed, logged as an attempt and recorded, the bare loop does none
of that, so the ratio is the price of "never lost".

Usage: .venv/bin/python bench/webhooks.py [--n 300] [--workers 2,4] [--delay 0.05]
                                          [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run from a checkout; the checkout replaces bench/ on the path, whose http.py would shadow the
# standard library's http package.
sys.path[0] = str(ROOT)

import httpx
from sqlalchemy import create_engine, func, select, text

from portal import create_app, migrate
from portal.db import make_engine, state
from portal.events.service import emit_event
from portal.jobs.service import run_due_jobs
from portal.webhooks.delivery import event_body
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.service import configure_endpoint
from portal.webhooks.signature import new_secret, signature_header
from tests.factories import make_merchant
from tests.pgcluster import PostgresCluster, find_pg_bin, free_port

FLASK = Path(sys.executable).parent / "flask"
SETTINGS = {"SECRET_KEY": "bench-secret-key", "DATA_KEY": "bench-data-key",
            "JOBS_IN_PROCESS": False, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,
            "LOG_LEVEL": "WARNING"}


def serve(port: int, delay: float) -> None:
    """The receiver process: answers every POST with 200 after ``delay`` s until terminated."""
    from tests.webhooks.receiver import Receiver

    receiver = Receiver(port)
    receiver.delay = delay
    receiver.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


@contextmanager
def receiver_process(delay: float = 0.0) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                                "--delay", str(delay)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/hooks"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(url, content=b"{}", headers={"webhook-id": "evt_ping"})
            break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def database(backend: str, scratch: Path) -> Iterator[str]:
    """A migrated, empty database URL for the backend."""
    if backend == "sqlite":
        url = f"sqlite:///{scratch / 'bench.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    cluster = PostgresCluster(find_pg_bin()).start()
    try:
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        engine = make_engine(cluster.url("bench"))
        migrate.upgrade(engine)
        engine.dispose()
        yield cluster.url("bench")
    finally:
        cluster.stop()


def succeeded(app) -> int:
    with state(app).factory() as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status == DeliveryStatus.SUCCEEDED))


def emit(app, merchant_id: int, n: int) -> list[bytes]:
    """N events committed at once; returns their bodies for the bare loop."""
    with app.app_context(), state(app).factory() as session:
        events = [emit_event(session, merchant_id=merchant_id, type="mandate.active",
                             subject=f"md_{i}", data={"mandate": f"md_{i}", "status": "active"})
                  for i in range(n)]
        session.commit()
        return [event_body(event) for event in events]


def wait_for(condition: Callable[[], bool], seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("deliveries did not finish")
        time.sleep(0.02)


def start_workers(url: str, instance: Path, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORTAL_DATABASE_URL": url,
           "PORTAL_SECRET_KEY": SETTINGS["SECRET_KEY"], "PORTAL_DATA_KEY": SETTINGS["DATA_KEY"],
           "PORTAL_INSTANCE_PATH": str(instance), "PORTAL_JOBS_IN_PROCESS": "false",
           "PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "PORTAL_LOG_LEVEL": "WARNING"}
    processes = []
    for number in range(count):
        log = instance / f"worker-{number}.log"
        processes.append(subprocess.Popen(
            [str(FLASK), "--app", "portal", "worker", "--poll", "0.05"], cwd=ROOT, env=env,
            stdout=log.open("w"), stderr=subprocess.STDOUT))
        wait_for(lambda log=log: "running" in log.read_text(), 60)
    return processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(30)


def measure_portal(backend: str, url: str, receiver: str, n: int, worker_counts: list[int],
                   scratch: Path) -> tuple[list[tuple[str, float]], list[bytes]]:
    """Deliveries/s of one in-process loop, then of K worker processes; and the bodies sent."""
    instance = scratch / f"instance-{backend}"
    app = create_app({**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    with app.app_context(), state(app).factory() as session:
        merchant = make_merchant(session)
        configure_endpoint(session, merchant, receiver)
        session.commit()
        merchant_id = merchant.id
    results = []

    bodies = emit(app, merchant_id, n)
    started = time.perf_counter()
    while succeeded(app) < n:
        run_due_jobs(app, limit=n)
    results.append(("1 worker loop", n / (time.perf_counter() - started)))

    done = n
    for count in worker_counts:
        workers = start_workers(url, instance, count)
        try:
            emit(app, merchant_id, n)
            started = time.perf_counter()
            wait_for(lambda target=done + n: succeeded(app) >= target)
            results.append((f"{count} worker processes", n / (time.perf_counter() - started)))
        finally:
            stop(workers)
        done += n
    state(app).dispose()
    return results, bodies


def measure_bare(receiver: str, bodies: list[bytes], threads: int) -> float:
    """Plain httpx posts of the same bodies with fixed headers: no signing, nothing recorded."""
    headers = {"content-type": "application/json", "webhook-id": "evt_bare",
               "webhook-timestamp": str(int(time.time())),
               "webhook-signature": signature_header([new_secret()], "evt_bare", 0, b"")}

    def post_all(chunk: list[bytes]) -> None:
        with httpx.Client(timeout=15) as client:
            for body in chunk:
                client.post(receiver, content=body, headers=headers).raise_for_status()

    started = time.perf_counter()
    if threads == 1:
        post_all(bodies)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(post_all, [bodies[i::threads] for i in range(threads)]))
    return len(bodies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--delay", type=float, default=0.0,
                        help="Seconds the receiver takes to answer (real endpoints: 0.05-0.3).")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay)
        return
    worker_counts = [int(c) for c in args.workers.split(",") if c]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and find_pg_bin() is None:
        print("PostgreSQL is not installed: SQLite only")
        backends.remove("postgresql")

    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp, \
            receiver_process(args.delay) as receiver:
        scratch = Path(tmp)
        measured, bare, bodies = [], {}, []
        for backend in backends:
            with database(backend, scratch) as url:
                results, bodies = measure_portal(backend, url, receiver, args.n, worker_counts,
                                                 scratch)
                measured += [(backend, mode, rate) for mode, rate in results]
        for count in [1, *worker_counts]:
            bare[count] = measure_bare(receiver, bodies, count)
        rows = [("bare httpx", "1 loop", bare[1], None)]
        rows += [("bare httpx", f"{c} threads", bare[c], None) for c in worker_counts]
        rows += [(backend, mode, rate, rate / bare[int(mode.split()[0])])
                 for backend, mode, rate in measured]

    print(f"\n{args.n} deliveries per run, local receiver answering in {args.delay * 1000:g} ms, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'':12} {'mode':20} {'deliveries/s':>13}  vs bare httpx at the same concurrency")
    for who, mode, rate, ratio in rows:
        print(f"{who:12} {mode:20} {rate:13.0f}  {'' if ratio is None else f'{ratio:.2f}x'}")


if __name__ == "__main__":
    main()
