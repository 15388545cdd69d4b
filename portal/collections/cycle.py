"""One collections run, as the job and ``flask collections run`` do it: expire unused mandates,
then on each route present every merchant's due debits and apply what came back — the bank
route exports pain.008 files and imports the bank's reports, the provider route creates
recurring provider payments and polls those awaiting their outcome. Each step commits on its
own, so one merchant's problem never holds back another's."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.batches import export_batches
from portal.collections.calendar import bank_today
from portal.collections.expiry import expire_unused_mandates
from portal.collections.models import Debit, DebitStatus, Route
from portal.collections.provider_route import ProviderCollector
from portal.collections.reports import ReportError
from portal.collections.returns import UnknownDebits, import_report
from portal.collections.routes import CollectionRefused, Collector, Collectors
from portal.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    expired_mandates: list[str] = field(default_factory=list)
    #: Route 1: the pain.008 batches exported, the bank reports imported.
    batches: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    #: Route 2: the provider payments created, the attempts whose outcome was applied.
    charges: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class BankCollector:
    """Route 1 behind the collector interface: pain.008 export, the bank's reports."""

    route: ClassVar[Route] = Route.BANK
    submitted_into: ClassVar[str] = "batches"
    settled_into: ClassVar[str] = "imports"

    def submit_due(self, session: Session, merchant_id: int, collectors: Collectors, *,
                   actor: str, now: datetime) -> list[str]:
        return [batch.public_id for batch in export_batches(
            session, merchant_id, collectors, actor=actor, now=now)]

    def settle(self, session: Session, collectors: Collectors, *, now: datetime) -> list[str]:
        """Clearing and importing what it produced happen in one transaction: a report that
        cannot be imported leaves the collections uncleared, to be cleared by the next run."""
        imported = []
        for report in collectors.bank.reports_due(session, bank_today(now), now):
            result = import_report(session, report.merchant_id, report.path, collectors,
                                   source=f"{collectors.bank.name}-bank",
                                   actor=f"bank:{collectors.bank.name}", now=now)
            imported.append(result.report.public_id)
        return imported


COLLECTORS: tuple[Collector, ...] = (BankCollector(), ProviderCollector())


def run_collections(app: Flask, collectors: Collectors, now: datetime) -> RunSummary:
    """One run at ``now`` (the app's clock, handed over by the job or command)."""
    summary = RunSummary()
    with session_scope(app) as session:
        summary.expired_mandates = expire_unused_mandates(
            session, collectors.policy.mandate_expiry_months, now=now)
    for collector in COLLECTORS:
        with session_scope(app) as session:
            merchants = session.scalars(select(Debit.merchant_id).where(
                Debit.status == DebitStatus.SCHEDULED, Debit.route == collector.route)
                .distinct()).all()
        for merchant_id in merchants:
            try:
                with session_scope(app) as session:
                    getattr(summary, collector.submitted_into).extend(collector.submit_due(
                        session, merchant_id, collectors, actor="collections", now=now))
            except CollectionRefused as exc:
                summary.problems.append(f"merchant {merchant_id}: {exc}")
        try:
            with session_scope(app) as session:
                setattr(summary, collector.settled_into,
                        collector.settle(session, collectors, now=now))
        except (ReportError, UnknownDebits) as exc:
            log.warning("%s report not applied: %s", collector.route.value, exc)
            summary.problems.append(f"{collector.route.value} report: {exc}")
    return summary
