"""Due deliveries claimed in batches under a lease, and their outcomes recorded in batches.

A claim is one short transaction: the due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
SQLite the claim takes the write lock first) get this worker's name and a lease, and come back
signed and ready to send. No transaction stays open while requests are in flight. The attempt
count is the fencing token: an outcome is recorded only while the row still carries the lease
it was sent under. A worker killed mid-request leaves its lease behind; when it has run out, the
next claim records that attempt as ``Interrupted`` and sends the delivery again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from portal.events.models import Event
from portal.merchants.models import Merchant
from portal.metrics import WEBHOOK_SECONDS
from portal.webhooks.delivery import event_body, request_headers
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from portal.webhooks.retries import parse_retry_after, retry_delay
from portal.webhooks.sender import Outcome, Timeouts
from portal.webhooks.service import disable_endpoint, signing_secrets

Status = DeliveryStatus
D = WebhookDelivery
_DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class DeliverySettings:
    """What delivering needs from the configuration, read once per worker."""

    public_base_url: str
    timeouts: Timeouts
    retry_schedule: tuple[float, ...]
    disable_after: timedelta
    allow_private: bool
    #: How long a claim holds a delivery; every attempt ends within half of it.
    lease: timedelta
    #: Requests in flight at once in one worker process, and to any one endpoint.
    concurrency: int = 64
    endpoint_concurrency: int = 8
    #: Outcomes recorded together (or after ``flush_seconds``, whichever comes first).
    batch_size: int = 64
    flush_seconds: float = 0.02

    @classmethod
    def from_config(cls, config: Any) -> DeliverySettings:
        lease = timedelta(seconds=float(config["JOBS_LEASE_SECONDS"]))
        total = min(float(config["WEBHOOK_TIMEOUT_SECONDS"]), lease.total_seconds() / 2)
        return cls(
            public_base_url=config["PUBLIC_BASE_URL"],
            timeouts=Timeouts(min(float(config["WEBHOOK_CONNECT_TIMEOUT_SECONDS"]), total), total),
            retry_schedule=tuple(config["WEBHOOK_RETRY_SCHEDULE"]),
            disable_after=timedelta(hours=float(config["WEBHOOK_DISABLE_AFTER_HOURS"])),
            allow_private=bool(config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"]),
            lease=lease,
            concurrency=int(config["WEBHOOK_CONCURRENCY"]),
            endpoint_concurrency=int(config["WEBHOOK_ENDPOINT_CONCURRENCY"]))


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker, signed and ready to send."""

    id: int
    merchant_id: int
    url: str
    event_id: str
    body: bytes
    headers: dict[str, str]
    #: The fencing token: the row's attempt count under this lease.
    attempt_count: int
    retry_step: int


@dataclass(frozen=True)
class Result:
    claimed: Claimed
    outcome: Outcome
    attempted_at: datetime


def claim_batch(session: Session, *, worker: str, now: datetime, limit: int,
                settings: DeliverySettings, endpoint_room: Callable[[int], int],
                skip: Collection[int] = (), commit: bool = True) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries, at most ``endpoint_room(merchant_id)`` per endpoint
    and none of the endpoints in ``skip``; commits the claim (or leaves that to the caller)."""
    due = (select(D.id, D.merchant_id, D.locked_by, D.locked_at)
           .join(Merchant, Merchant.id == D.merchant_id)
           .where(D.status == Status.PENDING, D.next_attempt_at <= now,
                  or_(D.locked_until.is_(None), D.locked_until < now),
                  Merchant.webhook_disabled_at.is_(None), Merchant.webhook_url.is_not(None))
           .order_by(D.next_attempt_at, D.id).limit(limit * 2)
           .with_for_update(of=D, skip_locked=True))
    if skip:
        due = due.where(D.merchant_id.not_in(list(skip)))
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        # An idle poll only reads: the write lock (which web requests wait for) is taken only
        # when something is due. The read ends first, so the claim sees the latest rows.
        nothing_due = session.execute(due.limit(1)).first() is None
        session.rollback()
        if nothing_due:
            return []
    _write_lock(session)  # on SQLite, before reading: no other worker claims in between
    taken: list[Any] = []
    per_endpoint: dict[int, int] = {}
    for row in session.execute(due):
        count = per_endpoint.get(row.merchant_id, 0)
        if count < endpoint_room(row.merchant_id) and len(taken) < limit:
            per_endpoint[row.merchant_id] = count + 1
            taken.append(row)
    if not taken:
        if commit:
            session.rollback()
        return []
    interrupted = [row for row in taken if row.locked_by is not None]
    if interrupted:
        _record_interrupted(session, interrupted, settings.lease)
    ids = [row.id for row in taken]
    session.execute(
        update(D).where(D.id.in_(ids))
        .values(locked_by=worker, locked_at=now, locked_until=now + settings.lease,
                attempt_count=D.attempt_count + 1)
        .execution_options(synchronize_session=False))
    rows = session.execute(
        select(D.id, D.merchant_id, D.url, D.attempt_count, D.retry_step, Event.public_id,
               Event.type, Event.created_at, Event.data)
        .join(Event, Event.id == D.event_id).where(D.id.in_(ids))).all()
    # Each endpoint's secrets are opened once for the batch, and live no longer than it (a
    # rotation takes effect with the next claim).
    secrets = {m.id: signing_secrets(m, now) for m in session.scalars(
        select(Merchant).where(Merchant.id.in_({row.merchant_id for row in rows})))}
    claimed = []
    for row in rows:
        body = event_body(row)
        headers = request_headers(secrets[row.merchant_id], row.public_id, body, now,
                                  settings.public_base_url)
        claimed.append(Claimed(row.id, row.merchant_id, row.url, row.public_id, body, headers,
                               row.attempt_count, row.retry_step))
    if commit:
        session.commit()
    return claimed


def _record_interrupted(session: Session, rows: Sequence[Any], lease: timedelta) -> None:
    """Attempts a dead worker left unfinished count as failed ones."""
    session.execute(insert(WebhookAttempt), [
        {"delivery_id": row.id, "attempted_at": row.locked_at or datetime.now(UTC) - lease,
         "error": "Interrupted", "sent_by": row.locked_by,
         "response_excerpt": "the worker stopped before this attempt finished"}
        for row in rows])
    session.execute(
        update(D).where(D.id.in_([row.id for row in rows]))
        .values(retry_step=D.retry_step + 1, last_error="Interrupted", last_status=None)
        .execution_options(synchronize_session=False))


def complete_batch(session: Session, results: Sequence[Result], *, worker: str, now: datetime,
                   settings: DeliverySettings, commit: bool = True) -> int:
    """Record outcomes (attempt rows, delivery state, next attempt); commits (or leaves that to
    the caller). Outcomes whose lease was lost meanwhile are dropped. Returns how many were
    recorded."""
    if not results:
        return 0
    _write_lock(session)
    fenced = session.execute(
        select(D.id, D.attempt_count)
        .where(D.id.in_([r.claimed.id for r in results]), D.locked_by == worker,
               D.status == Status.PENDING)
        .with_for_update(of=D)).all()
    current = {row.id: row.attempt_count for row in fenced}
    kept = [r for r in results if current.get(r.claimed.id) == r.claimed.attempt_count]
    if not kept:
        if commit:
            session.rollback()
        return 0
    session.execute(insert(WebhookAttempt), [
        {"delivery_id": r.claimed.id, "attempted_at": r.attempted_at,
         "http_status": r.outcome.http_status, "error": r.outcome.error,
         "latency_ms": r.outcome.latency_ms, "response_excerpt": r.outcome.excerpt or None,
         "sent_by": worker}
        for r in kept])
    succeeded, retried, special = [], [], []
    for result in kept:
        outcome = result.outcome
        WEBHOOK_SECONDS.labels("accepted" if outcome.accepted else "failed").observe(
            outcome.latency_ms / 1000)
        if outcome.accepted:
            succeeded.append({"b_id": result.claimed.id, "last_status": outcome.http_status})
            continue
        step = result.claimed.retry_step + 1
        delay = retry_delay(step, settings.retry_schedule,
                            retry_after=parse_retry_after(outcome.retry_after, now))
        if delay is None or outcome.http_status == 410:
            special.append((result, step))
        else:
            retried.append({"b_id": result.claimed.id, "retry_step": step,
                            "next_attempt_at": now + delay, "last_status": outcome.http_status,
                            "last_error": _error_of(outcome)})
    released = {"locked_by": None, "locked_at": None, "locked_until": None}
    if succeeded:
        session.connection().execute(
            update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("b_id")).values(
                status=Status.SUCCEEDED, delivered_at=now, next_attempt_at=None,
                last_status=bindparam("last_status"), last_error=None, **released),
            succeeded)
    if retried:
        session.connection().execute(
            update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("b_id")).values(
                retry_step=bindparam("retry_step"), next_attempt_at=bindparam("next_attempt_at"),
                last_status=bindparam("last_status"), last_error=bindparam("last_error"), **released),
            retried)
    for result, step in special:
        _settle_final(session, result, step, now, settings)
    if commit:
        session.commit()
    return len(kept)


def _settle_final(session: Session, result: Result, step: int, now: datetime,
                  settings: DeliverySettings) -> None:
    """The rare outcomes: the schedule ran out (failed, maybe disabling), or 410 Gone."""
    delivery = session.get_one(D, result.claimed.id, populate_existing=True)
    outcome = result.outcome
    delivery.retry_step = step
    delivery.last_status, delivery.last_error = outcome.http_status, _error_of(outcome)
    delivery.locked_by = delivery.locked_at = delivery.locked_until = None
    if outcome.http_status == 410:  # "no longer interested": the spec asks senders to stop
        disable_endpoint(session, delivery.merchant, reason="it answered 410 Gone", now=now)
        delivery.next_attempt_at = None  # parked with its endpoint
        return
    delivery.status, delivery.next_attempt_at = Status.FAILED, None
    session.flush()
    _disable_if_silent(session, delivery, now, settings.disable_after)


def _disable_if_silent(session: Session, delivery: WebhookDelivery, now: datetime,
                       disable_after: timedelta) -> None:
    """The disabling rule, applied when a delivery runs out of retries: its attempts have failed
    for at least ``WEBHOOK_DISABLE_AFTER_HOURS`` (the default schedule spans 3.5+ days) and the
    endpoint accepted no other delivery meanwhile. An endpoint that still accepts others keeps
    its failed delivery for a replay instead."""
    session.refresh(delivery, ["attempts"])
    round_started = delivery.attempts[-delivery.retry_step].attempted_at
    if now - round_started < disable_after:
        return
    last_success = session.scalar(select(func.max(D.delivered_at)).where(
        D.merchant_id == delivery.merchant_id, D.status == Status.SUCCEEDED))
    if last_success is not None and _utc(last_success) >= round_started:
        return
    disable_endpoint(session, delivery.merchant, now=now, reason=(
        f"no delivery has been accepted since {round_started:%Y-%m-%d %H:%M} UTC "
        f"(last answer: {delivery.last_error})"))


def _write_lock(session: Session) -> None:
    """On SQLite, take the write lock before reading (PostgreSQL locks the rows it reads), so
    no other worker changes them between our read and our write."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE webhook_delivery SET id = id WHERE 0"))


def _error_of(outcome: Outcome) -> str | None:
    return outcome.error or (None if outcome.accepted else f"HTTP {outcome.http_status}")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
