"""A merchant's webhook endpoint and the deliveries of its events: configure, rotate, replay.

Every event of a merchant with an endpoint gets a delivery, due at once, in the event's own
transaction (see ``portal.events.service.emit_event``), so no committed event is ever missed:
workers claim due deliveries from that table (``portal.webhooks.claims``), whatever order their
transactions committed in. While the endpoint is disabled, deliveries are *parked* (pending, no
``next_attempt_at``) and enabling queues them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.db import affected_rows, table_of
from portal.events.models import Event
from portal.ids import new_public_id
from portal.merchants.models import Merchant
from portal.webhooks.addresses import BlockedAddress, refuse_non_public, resolve_now
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.notices import queue_disabled_notice
from portal.webhooks.secrets import (
    current_secret,
    set_secrets,
    signing_secrets,  # noqa: F401  (claims imports it here)
)
from portal.webhooks.signature import new_secret

MAX_URL_LENGTH = 2000

Status = DeliveryStatus


class EndpointError(ValueError):
    """The endpoint cannot be configured or used as asked; the message says why."""


def has_endpoint(merchant: Merchant) -> bool:
    return bool(merchant.webhook_url and merchant.webhook_secret)


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials; EndpointError otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError("the webhook URL must be an absolute http:// or https:// URL")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise EndpointError("the webhook URL must not contain spaces or control characters")
    if len(url) > MAX_URL_LENGTH:
        raise EndpointError(f"the webhook URL must be at most {MAX_URL_LENGTH} characters")
    if parts.username or parts.password:
        raise EndpointError("the webhook URL must not carry a user name or password")
    if parts.fragment:
        raise EndpointError("the webhook URL must not have a #fragment")
    try:
        parts.port  # noqa: B018 (reading it validates it)
    except ValueError as exc:
        raise EndpointError("the webhook URL has an invalid port") from exc
    if not _private_targets_allowed():
        # A literal address, or what the name resolves to now (a name that does not resolve
        # yet is judged when it does); judged again at every attempt and every connection.
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = resolve_now(parts.hostname, port)
        try:
            if found:
                refuse_non_public(parts.hostname, found)
        except BlockedAddress as exc:
            raise EndpointError(f"the webhook URL must point to a public address: {exc}") from exc
    return url


def create_delivery(session: Session, event: Event, *,
                    now: datetime | None = None) -> WebhookDelivery | None:
    """A delivery for a new event, queued (or parked) in the caller's transaction; None if the
    merchant has no endpoint."""
    with session.no_autoflush:  # the caller's objects are flushed on its own terms
        merchant = session.get(Merchant, event.merchant_id)
        if merchant is None or not has_endpoint(merchant):
            return None
        now = now or event.created_at or clock_now()
        delivery = _new_delivery(event, merchant, now)
        session.add(delivery)
        queue_delivery(session, delivery, merchant, now)
    return delivery


def create_deliveries(session: Session, merchant_id: int, event_ids: Sequence[int], *,
                      now: datetime) -> int:
    """:func:`create_delivery` for many new events of one merchant (written in bulk by
    :func:`portal.events.service.emit_events`): the same queued (or parked) deliveries, in one
    multi-row INSERT; how many (0 without an endpoint)."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None or not has_endpoint(merchant) or not event_ids:
        return 0
    due = None if endpoint_disabled(session, merchant) else now
    session.execute(insert(table_of(WebhookDelivery)), [
        {"public_id": new_public_id("whk"), "event_id": event_id, "merchant_id": merchant_id,
         "url": merchant.webhook_url, "status": Status.PENDING, "attempt_count": 0,
         "retry_step": 0, "queue_round": 1, "next_attempt_at": due, "created_at": now}
        for event_id in event_ids])
    return len(event_ids)


def queue_delivery(session: Session, delivery: WebhookDelivery, merchant: Merchant,
                   now: datetime) -> bool:
    """Start a new round: fresh retry schedule, due now. Parks it instead while the endpoint is
    disabled. True if queued."""
    delivery.status = Status.PENDING
    delivery.url = merchant.webhook_url or delivery.url
    delivery.retry_step = 0
    delivery.queue_round += 1
    if endpoint_disabled(session, merchant):
        delivery.next_attempt_at = None
        return False
    delivery.next_attempt_at = now
    return True


def endpoint_disabled(session: Session, merchant: Merchant) -> bool:
    """Whether deliveries must park. A disabled merchant is re-read under its row lock, so an
    enable running at the same time either sees what we park or is seen by us."""
    if merchant.webhook_disabled_at is None:
        return False
    session.refresh(merchant, ["webhook_disabled_at"], with_for_update=True)
    return merchant.webhook_disabled_at is not None


def configure_endpoint(session: Session, merchant: Merchant, url: str, *,
                       now: datetime | None = None, actor: str = "merchant") -> str:
    """Set the endpoint with a new ``whsec_`` secret (returned) and enable it; deliveries that
    wait (parked or backing off) are queued now, to the new URL."""
    url = validate_url(url)
    now = now or clock_now()
    previous_url = merchant.webhook_url
    secret = new_secret()
    merchant.webhook_url = url
    set_secrets(session, merchant, secret)
    merchant.webhook_disabled_at = None
    session.flush()
    if previous_url and previous_url != url:
        session.execute(update(WebhookDelivery)
                        .where(WebhookDelivery.merchant_id == merchant.id,
                               WebhookDelivery.status == Status.PENDING)
                        .values(url=url).execution_options(synchronize_session=False))
    queued = _queue_waiting(session, merchant, now)
    record_audit(session, action="webhook.configure", subject=merchant.public_id,
                 actor=actor, merchant_id=merchant.id, now=now,
                 data={"url": url, "previous_url": previous_url, "requeued": queued})
    return secret


def rotate_secret(session: Session, merchant: Merchant, *,
                  overlap: timedelta = timedelta(hours=24), now: datetime | None = None,
                  actor: str = "merchant") -> str:
    """Make a new secret current (returned); the old one still signs until ``now + overlap``.
    Rotating again within an overlap drops the oldest secret at once."""
    _require_endpoint(merchant)
    if overlap < timedelta(0):
        raise EndpointError("the overlap cannot be negative")
    now = now or clock_now()
    previous, secret = current_secret(session, merchant), new_secret()
    set_secrets(session, merchant, secret, previous=previous if overlap else None,
                previous_until=now + overlap)
    record_audit(session, action="webhook.rotate_secret", subject=merchant.public_id,
                 actor=actor, merchant_id=merchant.id, now=now,
                 data={"previous_valid_until": (now + overlap).isoformat() if overlap else None})
    return secret


def enable_endpoint(session: Session, merchant: Merchant, *, now: datetime | None = None,
                    actor: str = "merchant") -> int:
    """Resume deliveries; returns how many waiting ones (parked or backing off) were queued now."""
    _require_endpoint(merchant)
    now = now or clock_now()
    disabled_at = merchant.webhook_disabled_at
    merchant.webhook_disabled_at = None
    session.flush()  # takes the merchant's row lock before looking for waiting deliveries
    queued = _queue_waiting(session, merchant, now)
    record_audit(session, action="webhook.enable", subject=merchant.public_id, actor=actor,
                 merchant_id=merchant.id, now=now,
                 data={"disabled_at": disabled_at.isoformat() if disabled_at else None,
                       "requeued": queued})
    return queued


def disable_endpoint(session: Session, merchant: Merchant, *, reason: str,
                     now: datetime | None = None) -> bool:
    """Stop deliveries (waiting ones are parked; those in flight finish their attempt), record
    why and queue the notice to the merchant. False if another worker disabled it first (one
    audit event and one notice per disabling)."""
    now = now or clock_now()
    changed = affected_rows(session.execute(
        update(Merchant)
        .where(Merchant.id == merchant.id, Merchant.webhook_disabled_at.is_(None))
        .values(webhook_disabled_at=now)
        .execution_options(synchronize_session=False)))
    session.expire(merchant, ["webhook_disabled_at"])
    if changed != 1:
        return False
    session.execute(update(WebhookDelivery)
                    .where(WebhookDelivery.merchant_id == merchant.id,
                           WebhookDelivery.status == Status.PENDING,
                           or_(WebhookDelivery.locked_until.is_(None),
                               WebhookDelivery.locked_until < now))
                    .values(next_attempt_at=None)
                    .execution_options(synchronize_session=False))
    record_audit(session, action="webhook.endpoint_disabled", subject=merchant.public_id,
                 actor="system", merchant_id=merchant.id, now=now,
                 data={"url": merchant.webhook_url, "reason": reason,
                       "notified": merchant.contact_email})
    queue_disabled_notice(session, merchant, reason=reason, now=now)
    return True


def remove_endpoint(session: Session, merchant: Merchant, *, now: datetime | None = None) -> int:
    """Forget the endpoint and its secrets; returns how many pending deliveries were abandoned."""
    now = now or clock_now()
    url = merchant.webhook_url
    merchant.webhook_url = None
    set_secrets(session, merchant, None)
    merchant.webhook_disabled_at = None
    session.flush()
    abandoned = affected_rows(session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.merchant_id == merchant.id,
               WebhookDelivery.status == Status.PENDING)
        .values(status=Status.ABANDONED, next_attempt_at=None)
        .execution_options(synchronize_session=False)))
    record_audit(session, action="webhook.remove", subject=merchant.public_id, actor="merchant",
                 merchant_id=merchant.id, now=now, data={"url": url, "abandoned": abandoned})
    return abandoned


def replay_event(session: Session, merchant: Merchant, event_public_id: str, *,
                 now: datetime | None = None, actor: str = "merchant") -> WebhookDelivery:
    """A new delivery of one of the merchant's events, with the same ``webhook-id`` (a receiver
    that already processed it may ignore it); parked while the endpoint is disabled.
    LookupError if the event is not the merchant's."""
    event = session.scalar(select(Event).where(Event.public_id == event_public_id,
                                               Event.merchant_id == merchant.id))
    if event is None:
        raise LookupError(f"no event {event_public_id} for merchant {merchant.public_id}")
    _require_endpoint(merchant)
    now = now or clock_now()
    delivery = _new_delivery(event, merchant, now)
    session.add(delivery)
    queue_delivery(session, delivery, merchant, now)
    record_audit(session, action="webhook.replay", subject=event.public_id, actor=actor,
                 merchant_id=merchant.id, now=now, data={"delivery": delivery.public_id})
    return delivery


def replay_failed(session: Session, merchant: Merchant, *, now: datetime | None = None) -> int:
    """Queue every failed delivery of the merchant again, each with a fresh retry schedule."""
    _require_endpoint(merchant)
    now = now or clock_now()
    failed = session.scalars(select(WebhookDelivery)
                             .where(WebhookDelivery.merchant_id == merchant.id,
                                    WebhookDelivery.status == Status.FAILED)
                             .order_by(WebhookDelivery.id)).all()
    for delivery in failed:
        queue_delivery(session, delivery, merchant, now)
    record_audit(session, action="webhook.replay_failed", subject=merchant.public_id,
                 actor="merchant", merchant_id=merchant.id, now=now,
                 data={"requeued": len(failed)})
    return len(failed)


def delivery_stats(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Queue depth and outcomes across all merchants, for metrics and the command line."""
    now = now or clock_now()
    by_status = dict(session.execute(select(WebhookDelivery.status, func.count())
                                     .group_by(WebhookDelivery.status)).all())
    pending = WebhookDelivery.status == Status.PENDING
    due, oldest_due = session.execute(
        select(func.count(), func.min(WebhookDelivery.next_attempt_at))
        .where(pending, WebhookDelivery.next_attempt_at <= now)).one()
    parked = session.scalar(select(func.count()).where(
        pending, WebhookDelivery.next_attempt_at.is_(None)))
    disabled = session.scalar(select(func.count()).select_from(Merchant).where(
        Merchant.webhook_disabled_at.is_not(None)))
    stats: dict[str, Any] = {status.value: by_status.get(status, 0) for status in Status}
    stats.update(
        due=due, parked=parked,
        scheduled=stats[Status.PENDING.value] - due - parked,
        oldest_due_seconds=(now - _aware(oldest_due)).total_seconds() if oldest_due else 0.0,
        disabled_endpoints=disabled)
    return stats


def _new_delivery(event: Event, merchant: Merchant, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(public_id=new_public_id("whk"), event=event, merchant_id=merchant.id,
                           url=merchant.webhook_url, status=Status.PENDING, attempt_count=0,
                           retry_step=0, queue_round=0, created_at=now)


def _queue_waiting(session: Session, merchant: Merchant, now: datetime) -> int:
    """Queue parked deliveries and those waiting out a backoff, due now. Deliveries already due
    are left alone: they may be in flight."""
    waiting = session.scalars(select(WebhookDelivery)
                              .where(WebhookDelivery.merchant_id == merchant.id,
                                     WebhookDelivery.status == Status.PENDING,
                                     or_(WebhookDelivery.next_attempt_at.is_(None),
                                         WebhookDelivery.next_attempt_at > now))
                              .order_by(WebhookDelivery.id)).all()
    for delivery in waiting:
        queue_delivery(session, delivery, merchant, now)
    return len(waiting)


def _require_endpoint(merchant: Merchant) -> None:
    if not has_endpoint(merchant):
        raise EndpointError(f"merchant {merchant.public_id} has no webhook endpoint configured")


def _private_targets_allowed() -> bool:
    return has_app_context() and bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS"))


def _aware(value: datetime) -> datetime:
    """``func.min`` may bypass the column type: restore the UTC zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
