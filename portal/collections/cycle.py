"""One collections run, as the job and ``flask collections run`` do it: expire unused mandates,
export each merchant's due debits, let the bank clear what is due and import its reports.
Each step commits on its own, so one merchant's problem never holds back another's."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select

from portal.clock import now as clock_now
from portal.collections.batches import ExportRefused, export_batches
from portal.collections.calendar import bank_today
from portal.collections.expiry import expire_unused_mandates
from portal.collections.models import Debit, DebitStatus, Route
from portal.collections.reports import ReportError
from portal.collections.returns import UnknownDebits, import_report
from portal.collections.routes import Collectors
from portal.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    expired_mandates: list[str] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_collections(app: Flask, collectors: Collectors) -> RunSummary:
    summary = RunSummary()
    now = clock_now()
    with session_scope(app) as session:
        summary.expired_mandates = expire_unused_mandates(
            session, collectors.policy.mandate_expiry_months, now=now)
    with session_scope(app) as session:
        merchants = session.scalars(select(Debit.merchant_id).where(
            Debit.status == DebitStatus.SCHEDULED, Debit.route == Route.BANK).distinct()).all()
    for merchant_id in merchants:
        try:
            with session_scope(app) as session:
                batches = export_batches(session, merchant_id, collectors, actor="collections",
                                         now=now)
                summary.batches += [batch.public_id for batch in batches]
        except ExportRefused as exc:
            summary.problems.append(f"merchant {merchant_id}: {exc}")
    # Clearing and importing what it produced commit together: a report that cannot be
    # imported leaves the collections uncleared, to be cleared again by the next run.
    try:
        with session_scope(app) as session:
            imported = []
            for report in collectors.bank.reports_due(session, bank_today(now), now):
                result = import_report(session, report.merchant_id, report.path, collectors,
                                       source=f"{collectors.bank.name}-bank",
                                       actor=f"bank:{collectors.bank.name}", now=now)
                imported.append(result.report.public_id)
            summary.imports = imported
    except (ReportError, UnknownDebits) as exc:
        log.warning("bank report not imported: %s", exc)
        summary.problems.append(f"bank report: {exc}")
    return summary
