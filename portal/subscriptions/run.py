"""One billing run, as the hourly job and ``flask subscriptions run`` do it: bill what
subscriptions have due, mark invoices overdue, and once a day import the provider's
settlements. Each part commits on its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from sqlalchemy.exc import IntegrityError

from portal.adapters import get_adapters
from portal.bookkeeping.settlements import SETTLEMENTS_JOB
from portal.db import session_scope, state
from portal.invoices.context import billing_of
from portal.invoices.settlement import mark_overdue_invoices
from portal.jobs.service import enqueue, worker_name
from portal.subscriptions.scheduler import LEASE, RunSummary, run_scheduler

log = logging.getLogger(__name__)


@dataclass
class BillingSummary:
    subscriptions: RunSummary = field(default_factory=RunSummary)
    overdue: list[str] = field(default_factory=list)


def lease_of(app: Flask) -> timedelta:
    seconds = app.config.get("SUBSCRIPTIONS_LEASE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else LEASE


def run_billing(app: Flask, *, worker: str | None = None) -> BillingSummary:
    """One run on the app's clock (its adapters'): bill, mark overdue, queue the import."""
    clock = get_adapters(app).clock
    summary = BillingSummary()
    summary.subscriptions = run_scheduler(state(app).factory, worker=worker or worker_name(),
                                          clock=clock, billing=billing_of(app),
                                          lease=lease_of(app))
    with session_scope(app) as session:
        summary.overdue = mark_overdue_invoices(session, now=clock())
    day = clock().date().isoformat()
    try:
        with session_scope(app) as session:
            enqueue(session, SETTLEMENTS_JOB, {}, dedupe_key=f"{SETTLEMENTS_JOB}:{day}")
    except IntegrityError:
        pass  # another scheduler queued today's import between our look and our insert
    log.info("billing run: %s billed, %s skipped, %s changes, %s overdue, %s problems",
             len(summary.subscriptions.billed), len(summary.subscriptions.skipped),
             len(summary.subscriptions.changes), len(summary.overdue),
             len(summary.subscriptions.problems))
    return summary
