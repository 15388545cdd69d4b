"""Webhook fixtures: a real receiver, an injected clock, a merchant with an endpoint, and
signature checks written from the Standard Webhooks specification."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook, WebhookVerificationError

from portal.clock import utcnow
from portal.events.models import Event
from portal.events.service import emit_event
from portal.jobs.service import run_due_jobs
from portal.merchants.models import Merchant
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.service import configure_endpoint
from portal.webhooks.workers import deliver_due
from tests.factories import make_merchant
from tests.webhooks.receiver import Received, Receiver


class Clock:
    """``app.config["CLOCK"]``: frozen until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def move_to(self, when: datetime) -> None:
        self.now = max(self.now, when)


@dataclass
class Endpoint:
    merchant: Merchant
    secret: str
    receiver: Receiver


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock(utcnow())
    app.config.update(CLOCK=clock, WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
    return clock


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def merchant(session: Session, clock: Clock) -> Merchant:
    merchant = make_merchant(session)
    merchant.contact_email = "ops@merchant.example"
    session.commit()
    return merchant


@pytest.fixture
def endpoint(app: Flask, session: Session, merchant: Merchant, receiver: Receiver) -> Endpoint:
    with app.app_context():
        secret = configure_endpoint(session, merchant, receiver.url)
    session.commit()
    return Endpoint(merchant, secret, receiver)


def run_all(app: Flask) -> int:
    """What a worker process does: due jobs (notices, mail) and due deliveries; how many ran."""
    return run_due_jobs(app) + deliver_due(app)


def emit(app: Flask, session: Session, merchant: Merchant, type: str = "mandate.created",
         **data: object) -> Event:
    """An event committed as the portal's services commit them."""
    with app.app_context():
        event = emit_event(session, merchant_id=merchant.id, type=type, subject="md_test",
                           data=data or {"mandate": "md_test"})
    session.commit()
    return event


def delivery_of(session: Session, event: Event) -> WebhookDelivery:
    session.expire_all()
    return session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
                           .order_by(WebhookDelivery.id.desc())).first()


def spec_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """Written from the specification, independently of portal.webhooks.signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signed_with(secret: str, request: Received) -> bool:
    """The from-spec check: one of the space-separated signatures is ours."""
    expected = spec_signature(secret, request.headers["webhook-id"],
                              request.headers["webhook-timestamp"], request.body)
    return expected in request.headers["webhook-signature"].split(" ")


def package_verifies(secret: str, request: Received) -> bool:
    """The independent ``standardwebhooks`` package (it also checks the timestamp's age)."""
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True
