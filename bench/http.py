"""Load benchmark: the portal under gunicorn (2 sync workers) on SQLite and PostgreSQL, against a
bare Flask app serving a page of the same size, measured in the same run on loopback.

    .venv/bin/python bench/http.py [--seconds 10] [--connections 32] [--flows 200]

(a) opening the signing page: wrk, requests/s and p99, ratio to the bare page;
(b) the full sign-and-verify flow through the sandbox provider: flows/s and p99 per flow
    (6 requests each), with requests/s relative to the bare page.
Targets: signing page ≥ 60% of bare Flask, p99 < 50 ms at 32 connections, no errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run from a checkout: the repository replaces bench/ on the path, since this file's name would
# shadow the standard library's http package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
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

from tests.http_journey import REQUESTS_PER_FLOW, sign_and_verify
from tests.pgcluster import PostgresCluster, find_pg_bin, free_port

BARE_APP = '''
from flask import Flask, render_template_string
app = Flask(__name__)
PAGE = open({page!r}, encoding="utf-8").read()
@app.get("/page")
def page():
    return render_template_string(PAGE)
'''


def portal_env(instance: Path, database_url: str, base_url: str) -> dict[str, str]:
    return {**os.environ, "PORTAL_INSTANCE_PATH": str(instance),
            "PORTAL_DATABASE_URL": database_url, "PORTAL_PUBLIC_BASE_URL": base_url,
            "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_JOBS_IN_PROCESS": "false",
            "PORTAL_LOG_LEVEL": "WARNING"}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--flow-concurrency", type=int, default=8)
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
    try:
        first_page: str | None = None
        for name, url in databases.items():
            instance = work / name
            instance.mkdir(parents=True, exist_ok=True)
            port = free_port()
            env = portal_env(instance, url, f"http://127.0.0.1:{port}")
            paths = prepare(env, args.flows + 1)
            server = Gunicorn("wsgi:app", env, ROOT, port)
            try:
                page_url = server.base + paths[0] + "?lang=en"
                first_page = first_page or httpx.get(page_url).text
                results[name] = {
                    "page": wrk(page_url, args.seconds, args.connections),
                    "flow": flows(server.base, paths[1:], args.flow_concurrency),
                }
            finally:
                server.stop()
        page_file = work / "page.html"
        page_file.write_text(first_page or "", encoding="utf-8")
        (work / "bare_app.py").write_text(BARE_APP.format(page=str(page_file)))
        bare = Gunicorn("bare_app:app", {**os.environ}, work)
        try:
            baseline = wrk(bare.base + "/page", args.seconds, args.connections)
        finally:
            bare.stop()
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nbare Flask page ({len(first_page or '')} bytes): {baseline['rps']:.0f} req/s, "
          f"p99 {baseline['p99_ms']:.1f} ms, errors {baseline['errors']:.0f}")
    print(f"{'database':<11} {'test':<22} {'req/s':>8} {'ratio':>7} {'p99 ms':>8} {'errors':>7}")
    for name, result in results.items():
        page, flow = result["page"], result["flow"]
        print(f"{name:<11} {'open signing page':<22} {page['rps']:>8.0f} "
              f"{page['rps'] / baseline['rps']:>7.2f} {page['p99_ms']:>8.1f} {page['errors']:>7.0f}")
        print(f"{name:<11} {'sign-and-verify flow':<22} {flow['rps']:>8.0f} "
              f"{flow['rps'] / baseline['rps']:>7.2f} {flow['p99_ms']:>8.1f} {flow['errors']:>7.0f}"
              f"   ({flow['flows_per_s']:.1f} flows/s, median {flow['median_ms']:.0f} ms per flow)")


if __name__ == "__main__":
    main()
