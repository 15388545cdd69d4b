"""Emit merchant events inside the caller's transaction (the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.events.models import Event
from portal.ids import new_public_id
from portal.webhooks.service import create_delivery


def emit_event(
    session: Session,
    *,
    merchant_id: int,
    type: str,
    subject: str,
    data: dict[str, Any],
    now: datetime | None = None,
) -> Event:
    """Add an event, and its webhook delivery when the merchant has an endpoint; both commit or
    roll back with the change they describe."""
    event = Event(
        public_id=new_public_id("evt"),
        merchant_id=merchant_id,
        type=type,
        subject=subject,
        data=data,
        created_at=now or clock_now(),
    )
    session.add(event)
    create_delivery(session, event, now=event.created_at)
    return event
