"""Load benchmark: the portal under gunicorn (2 sync workers) on SQLite and PostgreSQL, against
fair baselines measured in the same run on loopback.

    .venv/bin/python bench/http.py [--seconds 5] [--rounds 3] [--connections 32] [--flows 120]
                                   [--only page|flows] [--profile-flows 20]
                                   [--only flows --flow-workers 5]

Baselines (the least work that serves the same bytes, same gunicorn settings): a bare Flask app
rendering the portal's own signing page with ``render_template`` (compiled once, cached by
Jinja), and the same app answering a constant response (the ceiling).

All servers run side by side and are measured in turns (bare, SQLite, PostgreSQL, constant, the
order rotating each round), each figure the median of its rounds: on a machine others share,
the load changes from one second to the next, and only figures taken turn about in the same
minutes compare. Beside requests/s, each run counts the CPU time its gunicorn workers spent per
request (from /proc), which the other processes on the machine disturb far less.

(a) opening the signing page (the link as sent, cached page): wrk, requests/s and p99, with
    rate limiting on as in production, counted in a shared Redis by both workers (the limit is
    raised, since all requests come from one address, but every request is counted);
(b) the sign-and-verify flow through the sandbox provider (6 requests): flows/s, median, p99,
    the workers' CPU time per flow, the bench client's own (it shares the cores), and where the
    time goes (a profile of the same flow in-process).
Targets: signing page >= 0.6x bare Flask, p99 < 50 ms at 32 connections, no errors; flow p99
< 300 ms at 8 concurrent flows.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run from a checkout: the repository replaces bench/ on the path, since this file's name would
# shadow the standard library's http package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import cProfile
import gc
import os
import pstats
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent

from bench.databases import migrated_copy
from bench.report import figure
from bench.services import redis_server
from tests.http_journey import REQUESTS_PER_FLOW, journey_client, sign_and_verify
from tests.pgcluster import find_pg_bin, free_port

#: The fair baseline: the same page as a template file, compiled once and cached by Jinja (the
#: page is static text to Jinja, so rendering it is the least a template-serving app does).
BARE_APP = '''
from flask import Flask, render_template
app = Flask(__name__)
CONSTANT = open(app.root_path + "/templates/page.html", "rb").read()
@app.get("/page")
def page():
    return render_template("page.html")
@app.get("/constant")
def constant():
    return CONSTANT
'''
#: Every request is counted by the limiter, as in production; the limits are raised only because
#: the whole load comes from one address.
UNREFUSED = "100000000 per minute"


def portal_env(instance: Path, database_url: str, base_url: str,
               limiter_storage: str) -> dict[str, str]:
    return {**os.environ, "PORTAL_INSTANCE_PATH": str(instance),
            "PORTAL_DATABASE_URL": database_url, "PORTAL_PUBLIC_BASE_URL": base_url,
            "PORTAL_RATELIMIT_ENABLED": "true", "PORTAL_RATELIMIT_STORAGE_URI": limiter_storage,
            **{f"PORTAL_RATELIMIT_{name}": UNREFUSED
               for name in ("SIGN_OPEN", "SIGN_SUBMIT", "TOKEN", "SHORTLINK")},
            "PORTAL_JOBS_IN_PROCESS": "false", "PORTAL_LOG_LEVEL": "WARNING"}


def prepare(env: dict[str, str], invitations: int) -> subprocess.Popen:
    """Start migrating and creating the demo merchant and N invitations (one process, which
    prints their signing links); :func:`prepared` waits for it and returns their paths."""
    script = f'''
from portal import create_app, migrate
from portal.cli import DEMO_MERCHANT
from portal.db import session_scope, state
from portal.clock import utcnow
from portal.mandates.links import Links
from portal.mandates.service import InvitationRequest, invite_customer
from portal.merchants.service import create_merchant, find_by_creditor_id
app = create_app()
migrate.upgrade(state(app).engine, cipher=state(app).cipher, audit_keys=state(app).audit_keys)
links = Links.from_config(app.config)
with app.app_context(), session_scope() as s:
    m = find_by_creditor_id(s, DEMO_MERCHANT.creditor_id) or create_merchant(s, DEMO_MERCHANT)
    for i in range({invitations}):
        inv = invite_customer(s, m, InvitationRequest(customer_name="Bench " + str(i),
                              customer_email="bench@example.org", locale="en"), now=utcnow())
        s.flush()
        print(links.invitation_url(inv.public_id, inv.expires_at).removeprefix(links.base_url))
'''
    return subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def prepared(process: subprocess.Popen) -> list[str]:
    out, err = process.communicate()
    if process.returncode:
        sys.exit(f"could not prepare invitations:\n{err[-2000:]}")
    return [urlsplit(line.strip()).path for line in out.splitlines() if "/sign/" in line]


class Gunicorn:
    def __init__(self, app: str, env: dict[str, str], cwd: Path, port: int | None = None, *,
                 wait: bool = True, workers: int = 2) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Its log goes to a file: a pipe nobody reads would block the server once full.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", "--access-logfile", "/dev/null", app],
            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self.log, text=True)
        if wait:
            self.ready()

    def ready(self) -> Gunicorn:
        """Wait until it answers (servers started together load their apps side by side)."""
        deadline = time.monotonic() + 120  # a loaded machine takes long to load the app
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                httpx.get(self.base + "/", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"gunicorn did not start: {self.log.read()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a loaded machine: it must not outlive the bench
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User and system CPU time of the workers so far (children of the master)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # fields[1] is the parent's pid
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks


def wrk(url: str, seconds: int, connections: int,
        server: Gunicorn | None = None) -> dict[str, float]:
    """Requests/s, p99, errors and (given the server) its workers' CPU time per request."""
    cpu_before = server.cpu_seconds() if server else 0.0
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu_before if server else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale,
            "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
            "cpu_us": cpu * 1e6 / requests if requests else 0.0}


@dataclass
class Target:
    """One URL measured in turns with the others; its runs, summarised by their medians."""

    name: str
    url: str
    server: Gunicorn
    runs: list[dict[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)

    def errors(self) -> int:
        return int(sum(run["errors"] for run in self.runs))


def measure_in_turns(targets: list[Target], rounds: int, seconds: int,
                     connections: int) -> None:
    """An unmeasured warm-up of each (first requests compile templates, load catalogs and open
    connections in every worker), then ``rounds`` turns, the order rotating each round."""
    for target in targets:
        wrk(target.url, 1, connections)
    for number in range(rounds):
        shift = number % len(targets)
        for target in targets[shift:] + targets[:shift]:
            target.runs.append(wrk(target.url, seconds, connections, target.server))


def flows(server: Gunicorn, paths: list[str], workers: int) -> dict[str, float]:
    base = server.base
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    durations: list[float] = []
    errors: list[str] = []
    queue = list(paths)
    lock = threading.Lock()

    def run() -> None:
        # One client per thread, reused: the client shares these cores with the servers, so
        # it is a light one (tests/http_journey.py: plain sockets, cookies, every response
        # read and checked), about a sixth of httpx's CPU per flow.
        with journey_client(base) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    path = queue.pop()
                started = time.perf_counter()
                try:
                    sign_and_verify(base, path, client=client)
                    durations.append(time.perf_counter() - started)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors.append(repr(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    client_cpu = time.process_time() - client_before
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))] if durations else 0
    return {"flows_per_s": len(durations) / elapsed,
            "rps": REQUESTS_PER_FLOW * len(durations) / elapsed,
            "p99_ms": p99 * 1000, "median_ms": statistics.median(durations) * 1000
            if durations else 0, "errors": len(errors),
            "cpu_ms": cpu * 1000 / len(durations) if durations else 0.0,
            "client_cpu_ms": client_cpu * 1000 / len(durations) if durations else 0.0}


def bare_server(work: Path, page: str) -> Gunicorn:
    """The bare Flask app serving ``page`` (the portal's signing page, as the portal sent it)."""
    app_dir = work / "bare"
    (app_dir / "templates").mkdir(parents=True, exist_ok=True)
    (app_dir / "templates" / "page.html").write_text(page, encoding="utf-8")
    (app_dir / "bare_app.py").write_text(BARE_APP)
    bare = Gunicorn("bare_app:app", {**os.environ}, app_dir)
    assert httpx.get(bare.base + "/page").text == page
    return bare


def profile_flow(work: Path, flows: int) -> list[tuple[str, float]]:
    """Where a flow's time goes: the same journey in-process (test client, SQLite), with the
    cumulative time of the steps that matter, in ms per flow."""
    from portal import create_app, migrate
    from portal.db import state
    from tests.factories import make_invitation
    from tests.sign.driver import Journey

    instance = work / "profile"
    instance.mkdir(parents=True, exist_ok=True)
    with migrated_copy("sqlite", instance) as url:  # copied from bench/.cache
        pass
    app = create_app({"DATABASE_URL": url,
                      "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench-secret-key-" * 2,
                      "DATA_KEY": "bench-data-key-" * 2, "JOBS_IN_PROCESS": False,
                      "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING",
                      "PUBLIC_BASE_URL": "http://localhost"})
    migrate.upgrade(state(app).engine)
    journeys = []
    with state(app).factory() as session:
        for _ in range(flows + 1):
            journeys.append(make_invitation(session))
        session.commit()
        client = app.test_client()
        def sign_and_pay(invitation) -> None:
            journey = Journey(app, client, session, invitation)
            assert journey.follow(journey.pay()).status_code == 200

        sign_and_pay(journeys.pop())  # warm-up
        gc.collect()
        gc.freeze()  # as gunicorn.conf.py does before the workers fork
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for invitation in journeys:
            sign_and_pay(invitation)
        profiler.disable()
        total = (time.perf_counter() - started) * 1000 / flows
        gc.unfreeze()
    stats = pstats.Stats(profiler)
    wanted = {
        "IBAN encryption and lookup hash": ("portal/crypto.py", ("encrypt", "lookup_hash")),
        "audit chain (recorded, then chained at the flush)": (
            "portal/audit/service.py", ("record_audit", "_chain_unchained")),
        "state machine (transitions + outbox)": ("portal/mandates/lifecycle.py",
                                                 ("apply_transition",)),
        "activation (provider status applied)": ("portal/verification/service.py",
                                                 ("apply_provider_status_of",)),
        "the webhook's lookup (one query for the three kinds)": (
            "portal/payments/notifications.py", ("named_by",)),
        "forms built (WTForms)": ("wtforms/form.py", ("__call__",)),
        "job enqueue (PDF, mail)": ("portal/jobs/service.py", ("enqueue_jobs",)),
        "events and webhook deliveries": ("portal/events/service.py", ("emit_event",)),
        "page rendering": ("flask/templating.py", ("render_template",)),
        "database commits": ("sqlalchemy/orm/session.py", ("commit",)),
    }
    found: dict[str, float] = {}
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():
        for label, (suffix, names) in wanted.items():
            if filename.endswith(suffix) and function in names:
                found[label] = found.get(label, 0.0) + cumulative * 1000 / flows
    state(app).dispose()
    return [("whole flow in-process (profiled)", total),
            *sorted(found.items(), key=lambda item: -item[1])]


#: Flows run unmeasured on each portal first, per gunicorn worker (each worker's first pages
#: compile templates, load catalogs and open connections). Enough for each worker to run every
#: statement of a flow more than five times: psycopg prepares a statement on a connection at its
#: fifth run, so until then PostgreSQL parses and plans each one. With 4 flows for two workers,
#: the first measured flows were still cold, and on PostgreSQL they were often the slowest of
#: the run, the ones its p99 reads (the figure is the steady state, as a server that has run
#: for a minute sees it).
WARMUP_FLOWS_PER_WORKER = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="each measured wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--flows", type=int, default=120, help="flows per database")
    parser.add_argument("--flow-concurrency", type=int, default=8)
    parser.add_argument("--profile-flows", type=int, default=20, help="0: no in-process profile")
    parser.add_argument("--only", choices=("page", "flows"),
                        help="measure only the signing page, or only the flows (no wrk turns)")
    parser.add_argument("--flow-workers", type=int, default=2,
                        help="with --only flows: the portals' gunicorn workers (a side figure, "
                             "named for it; the production default is 2 x cores + 1)")
    args = parser.parse_args()
    page_turns, flow_runs = args.only != "flows", args.only != "page"
    if args.flow_workers != 2 and page_turns:
        sys.exit("--flow-workers needs --only flows (the signing page compares at -w 2)")
    flow_label = "" if args.flow_workers == 2 else f" at -w {args.flow_workers}"
    warmup_flows = WARMUP_FLOWS_PER_WORKER * args.flow_workers
    if page_turns and not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    # Migrated, empty databases copied from bench/.cache (migrating them, and initdb, took
    # seconds of the preparation); the PostgreSQL cluster runs until the bench ends.
    databases_open = ExitStack()
    databases: dict[str, str] = {}
    for name in ("sqlite", "postgresql") if find_pg_bin() else ("sqlite",):
        (work / name).mkdir()
        databases[name] = databases_open.enter_context(migrated_copy(name, work / name))
    began = time.monotonic()

    def phase(text: str) -> None:
        print(f"[{time.monotonic() - began:5.0f} s] {text}", file=sys.stderr, flush=True)

    servers: list[Gunicorn] = []
    portals: dict[str, tuple[Gunicorn, list[str]]] = {}
    flow_results: dict[str, dict[str, float]] = {}
    targets: list[Target] = []
    profile: list[tuple[str, float]] = []
    page = ""
    try:
        with redis_server() as limiter_storage:
            # Both databases are prepared side by side while both portals start (the
            # databases are migrated copies, so a portal can load before its invitations exist).
            preparing = {}
            phase("preparing " + " and ".join(databases) + ", starting the portals")
            for name, url in databases.items():
                instance = work / name
                instance.mkdir(parents=True, exist_ok=True)
                port = free_port()
                env = portal_env(instance, url, f"http://127.0.0.1:{port}", limiter_storage)
                invitations = 1 + (warmup_flows + args.flows if flow_runs else 0)
                preparing[name] = prepare(env, invitations)
                servers.append(server := Gunicorn("wsgi:app", env, ROOT, port, wait=False,
                                                  workers=args.flow_workers))
                portals[name] = (server, [])
            for name, process in preparing.items():
                portals[name][1].extend(prepared(process))
            phase("starting the portals")
            for server, paths in portals.values():
                server.ready()
                # Opens it (now cached); a worker's first page loads templates and catalogs,
                # which takes seconds on a loaded machine.
                page = page or httpx.get(server.base + paths[0], timeout=120).text
            if page_turns:
                servers.append(bare := bare_server(work, page))
                targets = [Target("bare", bare.base + "/page", bare),
                           *(Target(name, server.base + paths[0], server)
                             for name, (server, paths) in portals.items()),
                           Target("constant", bare.base + "/constant", bare)]
                phase("signing page, in turns")
                measure_in_turns(targets, args.rounds, args.seconds, args.connections)
            for name, (server, paths) in portals.items() if flow_runs else ():
                phase(f"sign-and-verify flows on {name}")
                warmup, measured = paths[1:1 + warmup_flows], paths[1 + warmup_flows:]
                flows(server, warmup, min(warmup_flows, args.flow_concurrency))
                flow_results[name] = flows(server, measured, args.flow_concurrency)
        if flow_runs and args.profile_flows:
            phase("profiling the flow in-process")
            profile = profile_flow(work, args.profile_flows)
        phase("done")
    finally:
        for server in servers:  # all told at once, then each waited for
            if server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            server.stop()
        databases_open.close()
        shutil.rmtree(work, ignore_errors=True)

    if page_turns:
        report_page(targets, page, args)
    for name, flow in flow_results.items():
        db = name + flow_label
        figure(f"sign-and-verify flow {db}", flow["flows_per_s"], "flows/s")
        figure(f"sign-and-verify flow {db} worker CPU per flow", flow["cpu_ms"], "ms")
        figure(f"sign-and-verify flow {db} bench client CPU per flow", flow["client_cpu_ms"],
               "ms")
        figure(f"sign-and-verify flow {db} median", flow["median_ms"], "ms")
        figure(f"sign-and-verify flow {db} p99", flow["p99_ms"], "ms", below=300)
        figure(f"sign-and-verify flow {db} errors", flow["errors"], "count", below=1)
    if profile:
        print("\nwhere a flow's time goes (in-process, SQLite, cumulative, overlapping):")
        for label, ms in profile:
            print(f"flow profile {label}: {ms:.1f} ms/flow")


def report_page(targets: list[Target], page: str, args: argparse.Namespace) -> None:
    by_name = {target.name: target for target in targets}
    bare_t, ceiling = by_name["bare"], by_name["constant"]
    name = "bare Flask render_template"
    print(f"\nsigning page: {len(page)} bytes, {args.connections} connections, gunicorn 2 sync "
          f"workers; {args.rounds} turns of {args.seconds} s each, medians; req/s per turn: "
          + "; ".join(f"{t.name} " + ", ".join(str(round(r["rps"])) for r in t.runs)
                      for t in targets))
    figure("bare Flask render_template (baseline)", bare_t.median("rps"), "req/s")
    figure("constant response (ceiling)", ceiling.median("rps"), "req/s", baseline=name,
           baseline_value=bare_t.median("rps"))
    for db in (t.name for t in targets if t.name not in ("bare", "constant")):
        target = by_name[db]
        figure(f"signing page {db}", target.median("rps"), "req/s", baseline=name,
               baseline_value=bare_t.median("rps"), ratio_at_least=0.6)
        figure(f"signing page {db} worker CPU per request", target.median("cpu_us"), "us",
               baseline=name, baseline_value=bare_t.median("cpu_us"),
               ratio_at_most=1 / 0.6)
        figure(f"signing page {db} p99", target.median("p99_ms"), "ms", baseline=name,
               baseline_value=bare_t.median("p99_ms"), below=50)
        figure(f"signing page {db} errors", target.errors(), "count", below=1)


if __name__ == "__main__":
    main()
