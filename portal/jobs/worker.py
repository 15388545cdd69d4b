"""Running jobs: ``flask --app portal worker`` processes, or a thread inside the web process.

Each runs the job loop and, beside it, the webhook dispatcher (``portal.webhooks.workers``),
which keeps many deliveries in flight at once."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.jobs.service import run_due_jobs, worker_name
from portal.webhooks.workers import start_dispatcher

log = logging.getLogger(__name__)


def work(app: Flask, stop: threading.Event, poll_seconds: float, name: str) -> None:
    """Run due jobs until ``stop`` is set, sleeping ``poll_seconds`` when there is nothing to do."""
    while not stop.is_set():
        try:
            ran = run_due_jobs(app, worker=name)
        except Exception:  # e.g. the database restarting: log, wait, carry on
            log.exception("job loop failed; retrying")
            ran = 0
        if not ran:
            stop.wait(poll_seconds)


def start_in_process(app: Flask) -> threading.Event:
    """The embedded default: daemon threads in the web process (SQLite, `make run`)."""
    stop = threading.Event()
    name, poll = worker_name() + ":inprocess", app.config["JOBS_POLL_SECONDS"]
    thread = threading.Thread(target=work, args=(app, stop, poll, name),
                              name="portal-jobs", daemon=True)
    thread.start()
    start_dispatcher(app, stop, poll, name)
    return stop


def init_app(app: Flask) -> None:
    """Start the in-process runner with the first request, not at import or for CLI commands."""
    if not app.config["JOBS_IN_PROCESS"] or app.testing:
        return
    started = threading.Lock()
    flag: list[threading.Event] = []

    @app.before_request
    def _start_jobs() -> None:
        if not flag:
            with started:
                if not flag:
                    flag.append(start_in_process(app))


@click.command("worker")
@click.option("--poll", default=1.0, show_default=True, help="Seconds to wait when idle.")
@with_appcontext
def worker_command(poll: float) -> None:
    """Run background jobs (webhooks, PDFs, mail) until SIGTERM or SIGINT."""
    app = current_app._get_current_object()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    name = worker_name()
    deliveries = start_dispatcher(app, stop, poll, name)
    click.echo(f"worker {name} running; Ctrl-C to stop")
    work(app, stop, poll, name)
    deliveries.join()  # the requests in flight finish and are recorded
