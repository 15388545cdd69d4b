"""``flask --app portal subscriptions run``: the billing run now, as the hourly job does it."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from portal.subscriptions.run import lease_of, run_billing

subscriptions_cli = AppGroup("subscriptions", help="Subscriptions and their billing.")


@subscriptions_cli.command("run")
@click.option("--wait/--no-wait", default=False,
              help="Also wait for subscriptions other schedulers hold (or a stopped one held: "
                   "its claim runs out), until nothing is due.")
@click.option("--timeout", default=600.0, show_default=True,
              help="Seconds to wait at most with --wait.")
def run(wait: bool, timeout: float) -> None:
    """Bill every period due by today, apply dated changes, mark invoices overdue."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    billed = skipped = changes = 0
    while True:
        summary = run_billing(app).subscriptions
        billed, skipped = billed + len(summary.billed), skipped + len(summary.skipped)
        changes += len(summary.changes)
        for problem in summary.problems:
            click.echo(f"problem: {problem}", err=True)
        if not wait or not summary.still_due or time.monotonic() > deadline:
            break
        time.sleep(min(1.0, lease_of(app).total_seconds() / 4))
    click.echo(f"{billed} periods billed, {skipped} skipped, {changes} changes; "
               f"{summary.still_due} subscriptions still due")
