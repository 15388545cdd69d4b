"""Fixtures for subscriptions: the collections clock and merchant, plans, and a simulation that
runs the portal's mornings (billing run, collections run, jobs) on the injectable clock,
jumping over the days on which nothing can happen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.calendar import bank_today
from portal.collections.cycle import run_collections
from portal.collections.models import Debit, DebitStatus
from portal.collections.routes import Collectors
from portal.collections.service import RUN_JOB as COLLECTIONS_RUN
from portal.invoices.context import Billing, billing_of
from portal.invoices.models import Invoice, InvoiceStatus
from portal.jobs.models import Job, JobStatus
from portal.merchants.models import Merchant
from portal.subscriptions.models import Interval, Plan, Subscription, SubscriptionStatus
from portal.subscriptions.run import run_billing
from portal.subscriptions.service import RUN_JOB as BILLING_RUN
from portal.subscriptions.service import PlanSpec, create_plan
from tests.collections.conftest import (  # noqa: F401  (fixtures shared with collections)
    Clock,
    app_context,
    clock,
    collectors,
    merchant,
    outbox,
    run_jobs,
)


@pytest.fixture
def billing(app: Flask) -> Billing:
    return billing_of(app)


def make_plan(session: Session, owner: Merchant, at: Clock, *, name: str = "Membership",
              amount_cents: int = 2500, interval: Interval = Interval.MONTHLY,
              **fields: object) -> Plan:
    spec = PlanSpec(name=name, amount_cents=amount_cents, interval=interval,
                    **fields)  # type: ignore[arg-type]
    plan = create_plan(session, owner, spec, actor="test", now=at.now)
    session.commit()
    return plan


@dataclass
class Simulation:
    """The portal's mornings on the test's clock: the billing run, the collections run (export,
    the sandbox bank clearing, its camt.054 imported) and the jobs they queue."""

    app: Flask
    session: Session
    clock: Clock
    collectors: Collectors
    mornings: list[date] = field(default_factory=list)

    def morning(self, day: date) -> None:
        self.clock.set_day(day, hour=8)
        run_billing(self.app)
        run_collections(self.app, self.collectors, self.clock.now)
        run_jobs(self.app)
        self.mornings.append(day)

    def until(self, last: date, actions: dict[date, Callable[[], None]] | None = None) -> None:
        """Every morning up to ``last`` on which something can happen, then ``actions`` of
        that day (the merchant's requests, made after the morning's runs)."""
        actions = actions or {}
        day = bank_today(self.clock.now)
        while day <= last:
            self.morning(day)
            if day in actions:
                self.clock.set_day(day, hour=11)
                actions[day]()
                self.session.commit()
            day = self.next_busy_day(day, actions)

    def next_busy_day(self, today: date, actions: dict[date, Callable[[], None]]) -> date:
        """The next day with anything due: a subscription's date, a debit to export (within the
        horizon) or to clear, an invoice falling due, a job, or a request of the test's."""
        tomorrow = today + timedelta(days=1)
        session = self.session
        session.expire_all()
        horizon = timedelta(days=self.collectors.policy.export_horizon_days)
        days = [d for d in actions if d > today]
        days += [d for d in session.scalars(select(Subscription.due_on).where(
            Subscription.status != SubscriptionStatus.STOPPED,
            Subscription.due_on.is_not(None)))]
        for status, collection_date in session.execute(select(
                Debit.status, Debit.collection_date).where(Debit.status.in_(
                    (DebitStatus.SCHEDULED, DebitStatus.SUBMITTED)))):
            days.append(collection_date - horizon if status == DebitStatus.SCHEDULED
                        else collection_date)
        days += [d + timedelta(days=1) for d in session.scalars(select(Invoice.due_date).where(
            Invoice.status == InvoiceStatus.OPEN))]
        days += [bank_today(run_at) for run_at in session.scalars(select(Job.run_at).where(
            Job.status == JobStatus.PENDING, Job.kind.not_in((COLLECTIONS_RUN, BILLING_RUN))))]
        return max(tomorrow, min(days, default=date.max))
