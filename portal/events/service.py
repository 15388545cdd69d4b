"""Emit merchant events inside the caller's transaction (the outbox), and let other areas
follow them in that same transaction (:func:`follow`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.db import insert_rows, table_of
from portal.events.models import Event
from portal.ids import new_public_id
from portal.webhooks.service import create_deliveries, create_delivery

#: Called with the session and the new event, before the change it reports commits.
Follower = Callable[[Session, Event], None]
_FOLLOWERS: dict[str, list[Follower]] = defaultdict(list)


def follow(*types: str) -> Callable[[Follower], Follower]:
    """Register a function to run in the emitting transaction for each event of these types,
    so an area that builds on another (invoices on debits and payments) keeps in step with it
    without the other importing it. A follower's failure rolls the change back with it."""
    def register(function: Follower) -> Follower:
        for event_type in types:
            if function not in _FOLLOWERS[event_type]:
                _FOLLOWERS[event_type].append(function)
        return function
    return register


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
    roll back with the change they describe. Its followers run before this returns."""
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
    for follower in _FOLLOWERS.get(type, ()):
        follower(session, event)
    return event


def emit_events(
    session: Session,
    *,
    merchant_id: int,
    type: str,
    items: Sequence[tuple[str, dict[str, Any]]],
    now: datetime | None = None,
) -> None:
    """:func:`emit_event` for many events of one merchant and type at once (an import): each
    ``(subject, data)`` its own event and webhook delivery, as one would get, written in a few
    multi-row INSERTs. A type with followers goes event by event, so each follower still sees
    its event."""
    if not items:
        return
    now = now or clock_now()
    if _FOLLOWERS.get(type):
        for subject, data in items:
            emit_event(session, merchant_id=merchant_id, type=type, subject=subject, data=data,
                       now=now)
        return
    public_ids = [new_public_id("evt") for _ in items]
    ids = insert_rows(session, table_of(Event), [
        {"public_id": public_id, "merchant_id": merchant_id, "type": type, "subject": subject,
         "data": data, "created_at": now}
        for public_id, (subject, data) in zip(public_ids, items, strict=True)])
    create_deliveries(session, merchant_id, [ids[public_id] for public_id in public_ids],
                      now=now)
