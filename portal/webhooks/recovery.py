"""What the console's webhook page needs beyond the endpoint itself: the delivery log (each
attempt's status, latency and the start of the answer) and the recovery of a time window, for a
merchant whose receiver lost what it was sent (every event of the window delivered again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.audit.service import record_audit
from portal.events.models import Event
from portal.merchants.models import Merchant
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.service import EndpointError, _new_delivery, _require_endpoint, queue_delivery

#: The widest window one recovery re-queues, and the most events it may hold.
MAX_WINDOW = timedelta(days=31)
MAX_RECOVERED_EVENTS = 10_000


@dataclass(frozen=True)
class Recovery:
    #: New deliveries queued (parked, while the endpoint is disabled).
    queued: int
    #: Events left alone because a delivery of theirs is still pending.
    already_pending: int


def delivery_log(session: Session, merchant: Merchant, *, limit: int = 50,
                 event_public_id: str | None = None) -> list[WebhookDelivery]:
    """The merchant's latest deliveries, newest first, with their event and attempts loaded."""
    query = (select(WebhookDelivery)
             .where(WebhookDelivery.merchant_id == merchant.id)
             .options(selectinload(WebhookDelivery.attempts),
                      selectinload(WebhookDelivery.event))
             .order_by(WebhookDelivery.id.desc()).limit(limit))
    if event_public_id is not None:
        query = query.join(Event, WebhookDelivery.event_id == Event.id).where(
            Event.public_id == event_public_id)
    return list(session.scalars(query))


def recover_window(session: Session, merchant: Merchant, start: datetime, end: datetime, *,
                   actor: str, now: datetime) -> Recovery:
    """A new delivery, due now, of every event of the merchant created from ``start`` up to
    (not including) ``end``, under the event's own ``webhook-id`` (a receiver drops what it
    already has); events
    with a delivery still pending are skipped (they are on their way). EndpointError for a
    window the portal will not recover, or without an endpoint."""
    _require_endpoint(merchant)
    if start.tzinfo is None or end.tzinfo is None:
        raise EndpointError("the window's times must carry a time zone (UTC)")
    if end <= start:
        raise EndpointError("the window must end after it starts")
    if end - start > MAX_WINDOW:
        raise EndpointError(f"the window may be at most {MAX_WINDOW.days} days long")
    if start > now:
        raise EndpointError("the window starts in the future")
    in_window = (Event.merchant_id == merchant.id, Event.created_at >= start,
                 Event.created_at < end)
    events = list(session.scalars(select(Event).where(*in_window).order_by(Event.id)
                                  .limit(MAX_RECOVERED_EVENTS + 1)))
    if len(events) > MAX_RECOVERED_EVENTS:
        raise EndpointError(f"the window holds more than {MAX_RECOVERED_EVENTS} events; "
                            "recover a shorter one")
    pending = set(session.scalars(
        select(WebhookDelivery.event_id)
        .join(Event, WebhookDelivery.event_id == Event.id)
        .where(*in_window, WebhookDelivery.status == DeliveryStatus.PENDING)))
    queued = 0
    for event in events:
        if event.id in pending:
            continue
        delivery = _new_delivery(event, merchant, now)
        session.add(delivery)
        queue_delivery(session, delivery, merchant, now)
        queued += 1
    record_audit(session, action="webhook.recover_window", subject=merchant.public_id,
                 actor=actor, merchant_id=merchant.id, now=now,
                 data={"from": start.isoformat(), "until": end.isoformat(), "queued": queued,
                       "already_pending": len(pending)})
    return Recovery(queued, len(pending))
