"""The delivery job: sign the event, POST it, log the attempt; then done, retry later, or give up.

The job queue's claim (``SELECT … FOR UPDATE SKIP LOCKED`` and a lease) keeps two workers off
the same delivery; the request's total timeout stays under half the lease, so a live worker's
lease never runs out mid-request. A worker killed mid-request leaves its attempt unfinished and
the job leased; when the lease ends another worker closes the attempt as ``Interrupted`` and
tries again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from portal.clock import now as clock_now
from portal.clock import wire_time
from portal.events.models import Event
from portal.jobs.service import RetryLater, job_handler, lease_duration
from portal.merchants.models import Merchant
from portal.metrics import WEBHOOK_SECONDS
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from portal.webhooks.retries import parse_retry_after, retry_delay
from portal.webhooks.sender import Outcome, Timeouts, post
from portal.webhooks.service import (
    DELIVER_JOB,
    disable_endpoint,
    endpoint_disabled,
    has_endpoint,
    signing_secrets,
)
from portal.webhooks.signature import signature_header

Status = DeliveryStatus
USER_AGENT = "MandatePortal-Webhooks/1.0"


def event_body(event: Event) -> bytes:
    """The JSON body, byte-identical on every attempt (the signature covers these bytes)."""
    payload = {"id": event.public_id, "type": event.type,
               "created_at": wire_time(event.created_at), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def request_headers(merchant: Merchant, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers, signed by every secret currently valid for the merchant."""
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "user-agent": f"{USER_AGENT} (+{current_app.config['PUBLIC_BASE_URL']})",
        "accept-encoding": "identity",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(signing_secrets(merchant, now), msg_id, timestamp,
                                              body),
    }


def timeouts() -> Timeouts:
    """Configured timeouts, the total capped at half the job lease (see the module docstring)."""
    config = current_app.config
    total = min(float(config["WEBHOOK_TIMEOUT_SECONDS"]), lease_duration().total_seconds() / 2)
    return Timeouts(connect=min(float(config["WEBHOOK_CONNECT_TIMEOUT_SECONDS"]), total),
                    total=total)


@job_handler(DELIVER_JOB)
def deliver(session: Session, payload: dict[str, Any]) -> None:
    """One attempt of one delivery (the job runs again, on the delivery's schedule, if it fails)."""
    delivery = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.public_id == payload["delivery"])
        .options(joinedload(WebhookDelivery.event), joinedload(WebhookDelivery.merchant)))
    if (delivery is None or delivery.status != Status.PENDING
            or delivery.queue_round != payload.get("round")):
        return  # settled, or queued again since: the newer job carries on
    merchant = delivery.merchant
    if not has_endpoint(merchant):
        delivery.status, delivery.next_attempt_at = Status.ABANDONED, None
        return
    if endpoint_disabled(session, merchant):
        delivery.next_attempt_at = None  # parked until the endpoint is enabled
        return
    now = clock_now()
    if delivery.attempt_count:
        _close_interrupted_attempts(session, delivery)
    body = event_body(delivery.event)
    headers = request_headers(merchant, delivery.event.public_id, body, now)
    attempt = WebhookAttempt(delivery=delivery, attempted_at=now)
    delivery.attempt_count += 1
    session.add(attempt)
    session.commit()  # on record before anything is sent; no transaction stays open meanwhile
    outcome = post(delivery.url, body, headers, timeouts(),
                   allow_private=bool(current_app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"]))
    _settle(session, delivery, attempt, outcome)


def _close_interrupted_attempts(session: Session, delivery: WebhookDelivery) -> None:
    """Attempts a dead worker left unfinished count as failed ones."""
    closed = session.execute(
        update(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id, WebhookAttempt.http_status.is_(None),
               WebhookAttempt.error.is_(None))
        .values(error="Interrupted",
                response_excerpt="the worker stopped before this attempt finished")
        .execution_options(synchronize_session=False)).rowcount
    delivery.retry_step += closed


def _settle(session: Session, delivery: WebhookDelivery, attempt: WebhookAttempt,
            outcome: Outcome) -> None:
    now = clock_now()
    attempt.http_status, attempt.error = outcome.http_status, outcome.error
    attempt.latency_ms, attempt.response_excerpt = outcome.latency_ms, outcome.excerpt or None
    WEBHOOK_SECONDS.labels("accepted" if outcome.accepted else "failed").observe(
        outcome.latency_ms / 1000)
    delivery.last_status = outcome.http_status
    delivery.last_error = outcome.error or (None if outcome.accepted
                                            else f"HTTP {outcome.http_status}")
    if outcome.accepted:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            Status.SUCCEEDED, now, None)
        return
    delivery.retry_step += 1
    delay = retry_delay(delivery.retry_step, current_app.config["WEBHOOK_RETRY_SCHEDULE"],
                        retry_after=parse_retry_after(outcome.retry_after, now))
    if delay is None:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        _disable_if_silent(session, delivery, now)
        session.commit()
        raise RetryLater(f"gave up after {delivery.attempt_count} attempts: "
                         f"{delivery.last_error}", at=None)
    if outcome.http_status == 410:  # "no longer interested": the spec asks senders to stop
        disable_endpoint(session, delivery.merchant, reason="it answered 410 Gone", now=now)
        delivery.next_attempt_at = None  # parked with its endpoint
        return
    delivery.next_attempt_at = now + delay
    session.commit()
    raise RetryLater(f"attempt {delivery.attempt_count}: {delivery.last_error}",
                     at=delivery.next_attempt_at)


def _disable_if_silent(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    """The disabling rule, applied when a delivery runs out of retries: its attempts have failed
    for at least ``WEBHOOK_DISABLE_AFTER_HOURS`` (the default schedule spans 3.5+ days) and the
    endpoint accepted no other delivery meanwhile. An endpoint that still accepts others keeps
    its failed delivery for a replay instead."""
    round_started = delivery.attempts[-delivery.retry_step].attempted_at
    if now - round_started < timedelta(hours=float(
            current_app.config["WEBHOOK_DISABLE_AFTER_HOURS"])):
        return
    last_success = session.scalar(select(func.max(WebhookDelivery.delivered_at)).where(
        WebhookDelivery.merchant_id == delivery.merchant_id,
        WebhookDelivery.status == Status.SUCCEEDED))
    if last_success is not None and _utc(last_success) >= round_started:
        return
    disable_endpoint(session, delivery.merchant, now=now, reason=(
        f"no delivery has been accepted since {round_started:%Y-%m-%d %H:%M} UTC "
        f"(last answer: {delivery.last_error})"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
