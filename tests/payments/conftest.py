"""Payment request fixtures: a merchant, a request factory and a settable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.events.models import Event
from portal.jobs.service import run_due_jobs
from portal.merchants.models import Merchant
from portal.payments.models import PaymentRequest
from portal.payments.service import (
    CustomerDetails,
    PaymentSettings,
    RequestSpec,
    create_payment_request,
)
from tests.factories import make_merchant

START = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The app's clock, moved by the test (``app.config['CLOCK']``); never sleeps."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session)
    session.commit()
    return merchant


SETTINGS = PaymentSettings(reminder_days=(-3, 0, 7), sms_enabled=True)


def make_request(session: Session, merchant: Merchant, now: datetime = START, *,
                 commit: bool = True, settings: PaymentSettings = SETTINGS,
                 **overrides: Any) -> PaymentRequest:
    fields: dict[str, Any] = {
        "amount_cents": 10_000, "description": "Membership 2030",
        "customer": CustomerDetails(name="Sam de Vries", email="sam@example.org", locale="en"),
        "expires_at": now + timedelta(days=30), "invoice_number": "2030-0042",
        "due_date": (now + timedelta(days=14)).date(),
    }
    fields.update(overrides)
    request = create_payment_request(session, merchant, RequestSpec(**fields), actor="test",
                                     now=now, settings=settings)
    if commit:
        session.commit()
    return request


def events(session: Session, subject: str | None = None, prefix: str = "") -> list[Event]:
    session.expire_all()
    query = select(Event).order_by(Event.id)
    if subject is not None:
        query = query.where(Event.subject == subject)
    return [e for e in session.scalars(query) if e.type.startswith(prefix)]


def event_types(session: Session, subject: str | None = None, prefix: str = "") -> list[str]:
    return [e.type for e in events(session, subject, prefix)]


def run_jobs(app: Flask, kinds: tuple[str, ...] | None = None) -> int:
    return run_due_jobs(app, kinds=kinds)


__all__ = ["START", "Clock", "date", "event_types", "events", "make_request", "run_jobs"]
