"""Load benchmark: the portal under gunicorn (2 sync workers) on SQLite and PostgreSQL, against
fair baselines measured in the same run on loopback.

    .venv/bin/python bench/http.py [--seconds 10] [--connections 32] [--flows 200]

Baselines (the least work that serves the same bytes, same gunicorn settings): a bare Flask app
rendering the portal's own signing page with ``render_template`` (compiled once, cached by
Jinja), and the same app answering a constant response (the ceiling). The bare app is measured
before and after the portal, and the better of the two runs is the baseline.

(a) opening the signing page (the link as sent, cached page): wrk, requests/s and p99, with
    rate limiting on as in production, counted in a shared Redis by both workers (the limit is
    raised, since all requests come from one address, but every request is counted);
(b) the sign-and-verify flow through the sandbox provider (6 requests): flows/s, median, p99,
    and where the time goes (a profile of the same flow in-process).
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
import os
import pstats
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent

from bench.report import figure
from bench.services import redis_server
from tests.http_journey import REQUESTS_PER_FLOW, sign_and_verify
from tests.pgcluster import PostgresCluster, find_pg_bin, free_port

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


def prepare(env: dict[str, str], invitations: int) -> list[str]:
    """Migrate, create the demo merchant and N invitations; return their signing paths."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "db", "upgrade"],
                   env=env, check=True, capture_output=True)
    script = f'''
from portal import create_app
from portal.cli import DEMO_MERCHANT
from portal.db import session_scope
from portal.clock import utcnow
from portal.mandates.links import Links
from portal.mandates.service import InvitationRequest, invite_customer
from portal.merchants.service import create_merchant, find_by_creditor_id
app = create_app()
links = Links.from_config(app.config)
with app.app_context(), session_scope() as s:
    m = find_by_creditor_id(s, DEMO_MERCHANT.creditor_id) or create_merchant(s, DEMO_MERCHANT)
    for i in range({invitations}):
        inv = invite_customer(s, m, InvitationRequest(customer_name="Bench " + str(i),
                              customer_email="bench@example.org", locale="en"), now=utcnow())
        s.flush()
        print(links.invitation_url(inv.public_id, inv.expires_at).removeprefix(links.base_url))
'''
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(f"could not prepare invitations:\n{result.stderr[-2000:]}")
    out = result.stdout
    return [urlsplit(line.strip()).path for line in out.splitlines() if "/sign/" in line]


class Gunicorn:
    def __init__(self, app: str, env: dict[str, str], cwd: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2",
             "-b", f"127.0.0.1:{self.port}", "--access-logfile", "/dev/null", app],
            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base + "/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start: {self.process.stderr.read()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def wrk(url: str, seconds: int, connections: int, warmup: int = 2) -> dict[str, float]:
    """Requests/s, p99 and errors at ``connections``, after an unmeasured warm-up run (first
    requests compile templates, load catalogs and open connections in every worker)."""
    def run(duration: int) -> str:
        return subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
                               url], capture_output=True, text=True, check=True).stdout

    run(warmup)
    out = run(seconds)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale,
            "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}


def flows(base: str, paths: list[str], workers: int) -> dict[str, float]:
    durations: list[float] = []
    errors: list[str] = []
    queue = list(paths)
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                path = queue.pop()
            started = time.perf_counter()
            try:
                sign_and_verify(base, path)
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
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))] if durations else 0
    return {"flows_per_s": len(durations) / elapsed,
            "rps": REQUESTS_PER_FLOW * len(durations) / elapsed,
            "p99_ms": p99 * 1000, "median_ms": statistics.median(durations) * 1000
            if durations else 0, "errors": len(errors)}


def bare_baseline(work: Path, page: str, seconds: int, connections: int) -> dict[str, dict]:
    app_dir = work / "bare"
    (app_dir / "templates").mkdir(parents=True, exist_ok=True)
    (app_dir / "templates" / "page.html").write_text(page, encoding="utf-8")
    (app_dir / "bare_app.py").write_text(BARE_APP)
    bare = Gunicorn("bare_app:app", {**os.environ}, app_dir)
    try:
        assert httpx.get(bare.base + "/page").text == page
        return {"page": wrk(bare.base + "/page", seconds, connections),
                "constant": wrk(bare.base + "/constant", seconds, connections)}
    finally:
        bare.stop()


def profile_flow(work: Path, flows: int) -> list[tuple[str, float]]:
    """Where a flow's time goes: the same journey in-process (test client, SQLite), with the
    cumulative time of the steps that matter, in ms per flow."""
    from portal import create_app, migrate
    from portal.db import state
    from tests.factories import make_invitation
    from tests.sign.driver import Journey

    instance = work / "profile"
    app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'portal.sqlite3'}",
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
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for invitation in journeys:
            sign_and_pay(invitation)
        profiler.disable()
        total = (time.perf_counter() - started) * 1000 / flows
    stats = pstats.Stats(profiler)
    wanted = {
        "IBAN encryption and lookup hash": ("portal/crypto.py", ("encrypt", "lookup_hash")),
        "audit chain": ("portal/audit/service.py", ("record_audit",)),
        "state machine (transitions + outbox)": ("portal/mandates/lifecycle.py",
                                                 ("apply_transition",)),
        "activation (provider status applied)": ("portal/verification/service.py",
                                                 ("apply_provider_status",)),
        "job enqueue (PDF, mail)": ("portal/jobs/service.py", ("enqueue",)),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--flow-concurrency", type=int, default=8)
    parser.add_argument("--profile-flows", type=int, default=20)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    cluster = PostgresCluster(find_pg_bin()).start() if find_pg_bin() else None
    databases = {"sqlite": f"sqlite:///{work / 'sqlite' / 'portal.sqlite3'}"}
    if cluster:
        subprocess.run([str(cluster.bin_dir / "createdb"), "-h", "127.0.0.1", "-p",
                        str(cluster.port), "-U", "postgres", "portal"], check=True)
        databases["postgresql"] = cluster.url("portal")
    results: dict[str, dict[str, dict[str, float]]] = {}
    baselines = []
    try:
        with redis_server() as limiter_storage:
            first_page: str | None = None
            for name, url in databases.items():
                instance = work / name
                instance.mkdir(parents=True, exist_ok=True)
                port = free_port()
                env = portal_env(instance, url, f"http://127.0.0.1:{port}", limiter_storage)
                paths = prepare(env, args.flows + 1)
                server = Gunicorn("wsgi:app", env, ROOT, port)
                try:
                    page_url = server.base + paths[0]
                    if first_page is None:
                        first_page = httpx.get(page_url).text
                        baselines.append(bare_baseline(work, first_page, args.seconds,
                                                       args.connections))
                    results[name] = {
                        "page": wrk(page_url, args.seconds, args.connections),
                        "flow": flows(server.base, paths[1:], args.flow_concurrency),
                    }
                finally:
                    server.stop()
            baselines.append(bare_baseline(work, first_page or "", args.seconds,
                                           args.connections))
        profile = profile_flow(work, args.profile_flows)
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    bare = max((b["page"] for b in baselines), key=lambda r: r["rps"])
    ceiling = max((b["constant"] for b in baselines), key=lambda r: r["rps"])
    name = "bare Flask render_template"
    print(f"\nsigning page: {len(first_page or '')} bytes, {args.connections} connections, "
          f"gunicorn 2 sync workers; bare runs: "
          f"{', '.join(str(round(b['page']['rps'])) for b in baselines)} req/s")
    figure("bare Flask render_template (baseline)", bare["rps"], "req/s")
    figure("constant response (ceiling)", ceiling["rps"], "req/s", baseline=name,
           baseline_value=bare["rps"])
    for db, result in results.items():
        page, flow = result["page"], result["flow"]
        figure(f"signing page {db}", page["rps"], "req/s", baseline=name,
               baseline_value=bare["rps"], ratio_at_least=0.6)
        figure(f"signing page {db} p99", page["p99_ms"], "ms", below=50)
        figure(f"signing page {db} errors", page["errors"], "count", below=1)
        figure(f"sign-and-verify flow {db}", flow["flows_per_s"], "flows/s")
        figure(f"sign-and-verify flow {db} median", flow["median_ms"], "ms")
        figure(f"sign-and-verify flow {db} p99", flow["p99_ms"], "ms", below=300)
        figure(f"sign-and-verify flow {db} errors", flow["errors"], "count", below=1)
    print("\nwhere a flow's time goes (in-process, SQLite, cumulative, overlapping):")
    for label, ms in profile:
        print(f"flow profile {label}: {ms:.1f} ms/flow")


if __name__ == "__main__":
    main()
