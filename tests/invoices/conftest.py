"""Fixtures for invoices: the collections clock and merchant, billing settings, and helpers to
run the collection cycle day by day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.calendar import bank_today
from portal.collections.cycle import run_collections
from portal.collections.routes import Collectors
from portal.events.models import Event
from portal.invoices.context import Billing, billing_of
from tests.collections.conftest import (  # noqa: F401  (fixtures shared with collections)
    Clock,
    app_context,
    clock,
    collectors,
    merchant,
    outbox,
    pay_links,
    run_jobs,
)


@pytest.fixture
def billing(app: Flask) -> Billing:
    return billing_of(app)


def run_days(app: Flask, via: Collectors, at: Clock, last: date) -> None:
    """A collections run every morning up to ``last``, with the jobs it queues."""
    day = bank_today(at.now)
    while day <= last:
        at.set_day(day, hour=8)
        run_collections(app, via, at.now)
        run_jobs(app)
        day += timedelta(days=1)


def event_types(session: Session, subject: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(Event.type).where(Event.subject == subject)
                                .order_by(Event.id)))
