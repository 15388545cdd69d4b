"""Events into the outbox, and the deliveries' statuses out of it, for the delivery tests."""

from __future__ import annotations

from collections import Counter

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.events.service import emit_event
from portal.merchants.models import Merchant
from portal.webhooks.models import WebhookDelivery


def emit_events(app: Flask, session: Session, merchant: Merchant, count: int) -> list[str]:
    """COUNT ``mandate.created`` events for the merchant, committed; their public ids."""
    with app.app_context():
        events = [emit_event(session, merchant_id=merchant.id, type="mandate.created",
                             subject=f"md_{n}", data={"n": n}) for n in range(count)]
    session.commit()
    return [event.public_id for event in events]


def delivery_statuses(session: Session) -> Counter[str]:
    """How many deliveries are in each status, read afresh."""
    session.expire_all()
    return Counter(session.scalars(select(WebhookDelivery.status)).all())
