"""Webhook deliveries against bare httpx at the same concurrency, on SQLite and PostgreSQL.

A local receiver (its own process) answers POSTs on ten endpoint paths, one per merchant.
``K`` ``flask --app portal worker`` processes deliver (each up to ``WEBHOOK_CONCURRENCY`` requests
in flight, ``WEBHOOK_ENDPOINT_CONCURRENCY`` per endpoint); the baseline is ``K`` processes of bare
async httpx posting the same bodies with the same number of requests in flight, with a fixed
signature header and nothing recorded. Every portal delivery is signed at its attempt, claimed
under a lease, logged as an attempt and settled, which is the price of "never lost".

(a) receiver answering at once: deliveries/s, target >= 0.5x bare httpx;
(b) receiver answering in 200 ms: deliveries/s, target >= 200/s from 2 worker processes;
(c) one endpoint answering in 5 s among nine that answer at once, events arriving steadily:
    the fast endpoints' p99 delay from event to arrival, target < 1 s.

Usage: .venv/bin/python bench/webhooks.py [--n 3000] [--workers 2] [--backend both] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run from a checkout; the checkout replaces bench/ on the path, whose http.py would shadow the
# standard library's http package.
sys.path[0] = str(ROOT)

import httpx
from sqlalchemy import func, select

from bench.databases import migrated_copy
from bench.report import figure
from portal import create_app
from portal.db import state
from portal.events.service import emit_event
from portal.merchants.models import Merchant
from portal.webhooks.delivery import event_body
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.service import configure_endpoint
from portal.webhooks.signature import new_secret, signature_header
from tests.factories import make_merchant
from tests.pgcluster import find_pg_bin, free_port

FLASK = Path(sys.executable).parent / "flask"
ENDPOINTS = 10
CONCURRENCY, ENDPOINT_CONCURRENCY = 64, 8
SETTINGS = {"SECRET_KEY": "bench-secret-key-" * 2, "DATA_KEY": "bench-data-key-" * 2,
            "JOBS_IN_PROCESS": False, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,
            "LOG_LEVEL": "WARNING"}


# -- the receiver process ------------------------------------------------------------------
def serve(port: int, delays: dict[str, float], report: Path) -> None:
    """Answer every POST with 200 after its path's delay; on SIGTERM write each arrival's
    (path, arrival wall time, event id) to ``report``.

    An asyncio server (aiohttp), so the receiver costs little CPU per request and a delay is a
    timer, not a thread: the bench measures the senders, not the receiver (the threaded test
    receiver tops out well below either sender on two busy cores)."""
    from aiohttp import web

    received: list[tuple[str, float, bytes]] = []

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        received.append((request.path, time.time(), body))
        if delay := delays.get(request.path):
            await asyncio.sleep(delay)
        return web.Response(body=b'{"received":true}', content_type="application/json")

    async def run() -> None:
        app = web.Application()
        app.router.add_post("/hooks/{endpoint:.+}", answer)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(run())
    arrivals = []
    for path, wall, body in received:
        try:
            arrivals.append((path, wall, json.loads(body)["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    report.write_text(json.dumps(arrivals))


@contextmanager
def receiver_process(scratch: Path, delays: dict[str, float] | None = None
                     ) -> Iterator[tuple[str, Path]]:
    port = free_port()
    report = scratch / f"arrivals-{port}.json"
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                                "--delays", json.dumps(delays or {}), "--report", str(report)],
                               cwd=ROOT)
    base = f"http://127.0.0.1:{port}/hooks"
    deadline = time.monotonic() + 20
    with httpx.Client() as client:  # one client: each new one loads the CA bundle again
        while time.monotonic() < deadline:
            try:
                client.post(base + "/ping", content=b"{}", headers={"webhook-id": "evt_ping"})
                break
            except httpx.TransportError:
                time.sleep(0.05)
    try:
        yield base, report
    finally:
        process.terminate()
        process.wait(30)


# -- the bare baseline ---------------------------------------------------------------------
def bare_client(urls_file: Path, concurrency: int, endpoint_concurrency: int, out: Path) -> None:
    """One baseline process: POST every (url, body) with ``concurrency`` requests in flight, at
    most ``endpoint_concurrency`` per endpoint, through one client per endpoint as the portal's
    worker does (one shared pool of 64 connections costs httpcore far more CPU)."""
    jobs = json.loads(urls_file.read_text())
    headers = {"content-type": "application/json", "webhook-id": "evt_bare",
               "webhook-timestamp": str(int(time.time())),
               "webhook-signature": signature_header([new_secret()], "evt_bare", 0, b"")}

    async def run() -> tuple[float, float]:
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=endpoint_concurrency,
                              max_keepalive_connections=endpoint_concurrency)
        clients = {url: httpx.AsyncClient(limits=limits, timeout=30)
                   for url in dict.fromkeys(url for url, _ in jobs)}
        gates = {url: asyncio.Semaphore(endpoint_concurrency) for url in clients}

        async def post(url: str, body: str) -> None:
            async with gate, gates[url]:
                response = await clients[url].post(url, content=body.encode(), headers=headers)
                response.raise_for_status()

        started = time.time()
        await asyncio.gather(*(post(url, body) for url, body in jobs))
        ended = time.time()
        for client in clients.values():
            await client.aclose()
        return started, ended

    started, ended = asyncio.run(run())
    out.write_text(json.dumps([started, ended, len(jobs)]))


def measure_bare(scratch: Path, jobs: list[tuple[str, str]], processes: int,
                 concurrency: int) -> float:
    """Deliveries/s of ``processes`` bare clients sharing ``jobs``."""
    running = []
    for number in range(processes):
        share = scratch / f"bare-{number}.json"
        share.write_text(json.dumps(jobs[number::processes]))
        out = scratch / f"bare-{number}.out"
        running.append((subprocess.Popen([sys.executable, __file__, "--bare", str(share),
                                          "--concurrency", str(concurrency),
                                          "--endpoint-concurrency", str(ENDPOINT_CONCURRENCY),
                                          "--out", str(out)], cwd=ROOT), out))
    results = []
    for process, out in running:
        if process.wait(600):
            raise RuntimeError("a bare client failed")
        results.append(json.loads(out.read_text()))
    started, ended = min(r[0] for r in results), max(r[1] for r in results)
    return sum(r[2] for r in results) / (ended - started)


# -- the portal ------------------------------------------------------------------------------
def wait_for(condition: Callable[[], bool], seconds: float = 600, every: float = 0.02) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {seconds:g} s")
        time.sleep(every)


@contextmanager
def workers(url: str, instance: Path, count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` worker processes, started together, until the block ends."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORTAL_DATABASE_URL": url,
           "PORTAL_SECRET_KEY": SETTINGS["SECRET_KEY"], "PORTAL_DATA_KEY": SETTINGS["DATA_KEY"],
           "PORTAL_INSTANCE_PATH": str(instance), "PORTAL_JOBS_IN_PROCESS": "false",
           "PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "PORTAL_LOG_LEVEL": "WARNING",
           "PORTAL_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
           "PORTAL_WEBHOOK_ENDPOINT_CONCURRENCY": str(ENDPOINT_CONCURRENCY),
           "PORTAL_WEBHOOK_TIMEOUT_SECONDS": "15", "PORTAL_WEBHOOK_POLL_SECONDS": "0.02"}
    processes = []
    logs = [instance / f"worker-{number}.log" for number in range(count)]
    try:
        for log in logs:
            processes.append(subprocess.Popen(
                [str(FLASK), "--app", "portal", "worker", "--poll", "1"], cwd=ROOT, env=env,
                stdout=log.open("w"), stderr=subprocess.STDOUT))
        wait_for(lambda: all("running" in log.read_text() for log in logs), 300, 0.05)
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)


@contextmanager
def paused(processes: list[subprocess.Popen]) -> Iterator[None]:
    """The workers stopped (SIGSTOP) while the baseline runs: idle, they would still poll the
    database every 20 ms, taking CPU from the baseline on the same cores."""
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)


class Portal:
    """The bench's view of one database: merchants with endpoints, events, deliveries."""

    def __init__(self, url: str, instance: Path) -> None:
        self.app = create_app({**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
        with self.app.app_context(), state(self.app).factory() as session:
            self.merchants = [make_merchant(session).id for _ in range(ENDPOINTS)]
            session.commit()
        #: Each event's commit time (wall clock), by its public id.
        self.committed: dict[str, float] = {}

    def point_at(self, base: str) -> None:
        with self.app.app_context(), state(self.app).factory() as session:
            for number, merchant_id in enumerate(self.merchants):
                configure_endpoint(session, session.get(Merchant, merchant_id),
                                   f"{base}/{number}")
            session.commit()

    def emit(self, n: int, merchants: list[int] | None = None) -> list[bytes]:
        """N events committed at once, spread over the merchants; returns their bodies."""
        targets = merchants or self.merchants
        with self.app.app_context(), state(self.app).factory() as session:
            events = [emit_event(session, merchant_id=targets[i % len(targets)],
                                 type="mandate.active", subject=f"md_{i}",
                                 data={"mandate": f"md_{i}", "status": "active"})
                      for i in range(n)]
            ids = [event.public_id for event in events]
            session.commit()
            # The delay is measured from here, not from the body's created_at: that is
            # to the second on the wire, and would add up to a second to every figure.
            committed = time.time()
            self.committed.update((public_id, committed) for public_id in ids)
            return [event_body(event) for event in events]

    def succeeded(self, merchants: list[int] | None = None) -> int:
        query = select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status == DeliveryStatus.SUCCEEDED)
        if merchants is not None:
            query = query.where(WebhookDelivery.merchant_id.in_(merchants))
        with state(self.app).factory() as session:
            return session.scalar(query)

    def deliver(self, n: int) -> tuple[float, list[bytes]]:
        """Emit N events and wait until they are all delivered: deliveries/s from the commit,
        and the bodies sent."""
        target = self.succeeded() + n
        bodies = self.emit(n)
        started = time.perf_counter()
        wait_for(lambda: self.succeeded() >= target, every=0.05)
        return n / (time.perf_counter() - started), bodies


def run_backend(backend: str, url: str, scratch: Path, args: argparse.Namespace) -> None:
    """The three scenarios on one database, with one receiver (a path per scenario and endpoint,
    each with its delay) and one set of workers, started once."""
    instance = scratch / f"instance-{backend}"
    portal = Portal(url, instance)
    in_flight = min(CONCURRENCY, ENDPOINTS * ENDPOINT_CONCURRENCY)
    label = f"bare httpx, {args.workers} processes × {in_flight} in flight"
    rated = (("receiver at once", "now", 0.0, args.n, {"ratio_at_least": 0.5}),
             ("receiver in 200 ms", "slow", 0.2, args.n_slow, {"at_least": 200}))
    delays = {f"/hooks/{path}/{i}": delay for _, path, delay, _, _ in rated
              for i in range(ENDPOINTS)}
    delays["/hooks/mixed/0"] = 5.0  # (c): one slow endpoint, nine at once
    with receiver_process(scratch, delays) as (base, report), \
            workers(url, instance, args.workers) as running:
        for name, path, _delay, n, goal in rated:
            portal.point_at(f"{base}/{path}")
            portal.deliver(min(200, n))  # warm-up: connections, caches, first claims
            rate, bodies = portal.deliver(n)
            jobs = [(f"{base}/{path}/{i % ENDPOINTS}", body.decode())
                    for i, body in enumerate(bodies)]
            with paused(running):
                measure_bare(scratch, jobs[:min(200, n)], args.workers, in_flight)  # warm-up
                bare = measure_bare(scratch, jobs, args.workers, in_flight)
            figure(f"webhooks {backend} {name}, {args.workers} workers", rate, "deliveries/s",
                   baseline=label, baseline_value=bare, **goal)

        # (c) one endpoint answering in 5 s among nine fast ones, events arriving steadily.
        portal.point_at(f"{base}/mixed")
        fast_merchants = portal.merchants[1:]
        # One event per endpoint each tick, as many ticks as the rate asks for (at 100/s: ten
        # every 0.1 s).
        per_tick = ENDPOINTS
        tick = per_tick / args.mixed_rate
        before = portal.succeeded(fast_merchants)
        earlier = set(portal.committed)  # the rated scenarios' events, not counted here
        for _ in range(int(args.mixed_seconds / tick)):  # events arriving steadily
            started = time.perf_counter()
            portal.emit(per_tick)  # one in ten for the slow endpoint
            time.sleep(max(0.0, tick - (time.perf_counter() - started)))
        expected = before + int(args.mixed_seconds / tick) * per_tick * 9 // ENDPOINTS
        wait_for(lambda: portal.succeeded(fast_merchants) >= expected, 120)
    arrivals = [(path, wall - portal.committed[event_id])
                for path, wall, event_id in json.loads(report.read_text())
                if event_id in portal.committed and event_id not in earlier]
    fast = sorted(delay for path, delay in arrivals if path != "/hooks/mixed/0")
    slow = [delay for path, delay in arrivals if path == "/hooks/mixed/0"]
    p99 = fast[min(len(fast) - 1, int(len(fast) * 0.99))] if fast else float("inf")
    figure(f"webhooks {backend} fast endpoints' p99 delay beside a 5 s endpoint", p99 * 1000,
           "ms", below=1000)
    print(f"  ({len(fast)} fast arrivals, median {fast[len(fast) // 2] * 1000:.0f} ms; "
          f"{len(slow)} slow arrivals)" if fast else "  (no fast arrivals)")
    state(portal.app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--n-slow", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mixed-rate", type=float, default=100.0)
    parser.add_argument("--mixed-seconds", type=float, default=8.0)
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--short", action="store_true", help="the make bench sizes")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--delays", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint-concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, json.loads(args.delays), Path(args.report))
        return
    if args.bare:
        bare_client(Path(args.bare), args.concurrency, args.endpoint_concurrency, Path(args.out))
        return
    if args.short:
        args.n, args.n_slow, args.mixed_seconds = 1000, 800, 4.0
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and find_pg_bin() is None:
        print("PostgreSQL is not installed: SQLite only")
        backends.remove("postgresql")
    print(f"{args.workers} worker processes, {CONCURRENCY} in flight each, at most "
          f"{ENDPOINT_CONCURRENCY} per endpoint, {ENDPOINTS} endpoints; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        for backend in backends:
            # A migrated, empty database, copied from bench/.cache after the first run.
            with migrated_copy(backend, Path(tmp)) as url:
                run_backend(backend, url, Path(tmp), args)


if __name__ == "__main__":
    main()
