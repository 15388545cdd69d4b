"""Deliveries over real HTTP: signed, retried on a schedule spanning days, every attempt logged."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import state
from portal.events.service import emit_event
from portal.jobs.models import Job
from portal.webhooks import signature
from portal.webhooks.claims import DeliverySettings, claim_batch
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.service import configure_endpoint
from tests.factories import make_merchant
from tests.webhooks.conftest import (
    Clock,
    Endpoint,
    delivery_of,
    emit,
    package_verifies,
    run_all,
    signed_with,
)
from tests.webhooks.receiver import Receiver


def test_every_event_arrives_once_signed_and_verifiable(app: Flask, session: Session,
                                                        endpoint: Endpoint, clock: Clock) -> None:
    events = [emit(app, session, endpoint.merchant, kind, mandate=f"md_{n}")
              for n, kind in enumerate(("mandate.created", "mandate.signed", "mandate.active"))]
    assert run_all(app) == 3

    # Several deliveries are in flight at once: each arrives exactly once, in any order.
    by_id = {r.id: r for r in endpoint.receiver.requests}
    assert len(endpoint.receiver.requests) == 3
    assert sorted(by_id) == sorted(e.public_id for e in events)
    for event in events:
        request = by_id[event.public_id]
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("MandatePortal-Webhooks/")
        assert int(request.headers["webhook-timestamp"]) == int(clock.now.timestamp())
        assert request.json() == {"id": event.public_id, "type": event.type,
                                  "created_at": request.json()["created_at"],
                                  "data": event.data}
        assert request.json()["created_at"].endswith("Z")
        assert package_verifies(endpoint.secret, request)
        assert signed_with(endpoint.secret, request)
        assert signature.verify(endpoint.secret, request.id, request.headers["webhook-timestamp"],
                                request.body, request.headers["webhook-signature"])
        delivery = delivery_of(session, event)
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1
        assert delivery.delivered_at == clock.now and delivery.last_status == 200
        [attempt] = delivery.attempts
        assert attempt.http_status == 200 and attempt.error is None
        assert 0 <= attempt.latency_ms < 5000
        assert attempt.response_excerpt == '{"received":true}'


def test_failed_attempts_are_retried_with_the_same_id_and_logged(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.fail_first = 2
    event = emit(app, session, endpoint.merchant)
    started = clock.now
    run_all(app)
    delivery = delivery_of(session, event)
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status == 500
    assert timedelta(seconds=25) <= delivery.next_attempt_at - started <= timedelta(seconds=35)
    assert run_all(app) == 0  # not due yet

    for _ in range(2):
        clock.move_to(delivery_of(session, event).next_attempt_at)
        run_all(app)

    delivery = delivery_of(session, event)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 3
    assert [(a.http_status, a.response_excerpt) for a in delivery.attempts] == [
        (500, '{"error":"not today"}'), (500, '{"error":"not today"}'),
        (200, '{"received":true}')]
    requests = endpoint.receiver.requests
    assert {r.id for r in requests} == {event.public_id}  # de-duplicable by webhook-id
    assert len({r.body for r in requests}) == 1  # the same bytes every time
    assert len({r.headers["webhook-timestamp"] for r in requests}) == 3  # signed per attempt
    assert all(signed_with(endpoint.secret, r) for r in requests)


def test_backoff_spans_more_than_three_days_then_the_delivery_fails(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.status = 503
    event = emit(app, session, endpoint.merchant)
    while (delivery := delivery_of(session, event)).status == DeliveryStatus.PENDING:
        assert delivery.next_attempt_at is not None, "parked before its schedule ran out"
        clock.move_to(delivery.next_attempt_at)
        assert run_all(app) >= 1

    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    times = [a.attempted_at for a in delivery.attempts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == len(app.config["WEBHOOK_RETRY_SCHEDULE"]) + 1 == 13
    assert times[-1] - times[0] >= timedelta(days=3)
    assert gaps[0] <= timedelta(seconds=35) and gaps[-1] >= timedelta(hours=20)
    assert all(later >= earlier * 0.7 for earlier, later in itertools.pairwise(gaps))
    assert len(endpoint.receiver.requests) == 13
    assert delivery.attempt_count == 13 and delivery.last_error == "HTTP 503"
    assert delivery.locked_by is None and delivery.locked_until is None


def test_a_hanging_endpoint_times_out_and_the_next_attempt_delivers(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1.0
    endpoint.receiver.hang_first = 1
    event = emit(app, session, endpoint.merchant)
    started = time.monotonic()
    run_all(app)
    # The endpoint hangs until released: only the 1 s timeout ends the attempt (the bounds
    # leave room for a loaded CI machine).
    assert time.monotonic() - started < 20
    [attempt] = delivery_of(session, event).attempts
    assert attempt.http_status is None and attempt.error == "TotalTimeout"
    assert 900 <= attempt.latency_ms < 10_000
    endpoint.receiver.release()

    clock.move_to(delivery_of(session, event).next_attempt_at)
    run_all(app)
    assert delivery_of(session, event).status == DeliveryStatus.SUCCEEDED


def test_an_endpoint_that_is_down_then_comes_up_gets_the_event(
        app: Flask, session: Session, merchant, clock: Clock) -> None:
    down = Receiver()  # nothing listens on its port yet
    with app.app_context():
        secret = configure_endpoint(session, merchant, down.url)
    session.commit()
    event = emit(app, session, merchant)
    run_all(app)
    [attempt] = delivery_of(session, event).attempts
    assert attempt.error == "ConnectError" and attempt.latency_ms < 2000

    down.start()
    try:
        clock.move_to(delivery_of(session, event).next_attempt_at)
        run_all(app)
        assert delivery_of(session, event).status == DeliveryStatus.SUCCEEDED
        assert down.ids() == [event.public_id] and package_verifies(secret, down.requests[0])
    finally:
        down.stop()


def test_redirects_are_not_followed_and_excerpts_are_short(
        app: Flask, session: Session, endpoint: Endpoint, receiver: Receiver,
        clock: Clock) -> None:
    elsewhere = Receiver().start()
    try:
        receiver.status, receiver.response_headers = 307, {"location": elsewhere.url}
        receiver.body = b"x" * 10_000
        event = emit(app, session, endpoint.merchant)
        run_all(app)
        [attempt] = delivery_of(session, event).attempts
        assert attempt.http_status == 307 and len(attempt.response_excerpt) == 500
        assert delivery_of(session, event).status == DeliveryStatus.PENDING
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()


def test_retry_after_from_the_endpoint_is_honoured(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.status, endpoint.receiver.response_headers = 429, {"retry-after": "3600"}
    event = emit(app, session, endpoint.merchant)
    run_all(app)
    assert delivery_of(session, event).next_attempt_at >= clock.now + timedelta(hours=1)


def test_private_addresses_are_refused_unless_allowed(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False
    event = emit(app, session, endpoint.merchant)
    run_all(app)
    [attempt] = delivery_of(session, event).attempts
    assert attempt.error == "BlockedAddress" and "127.0.0.1" in attempt.response_excerpt
    assert endpoint.receiver.requests == []


def test_an_attempt_left_unfinished_by_a_dead_worker_is_closed_and_retried(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    event = emit(app, session, endpoint.merchant)
    settings = DeliverySettings.from_config(app.config)
    with state(app).factory() as other:  # a worker claims it, then dies before any outcome
        [claimed] = claim_batch(other, worker="dead:1", now=clock.now, limit=10,
                                settings=settings, endpoint_room=lambda _: 8)
    clock.advance(seconds=settings.lease.total_seconds() - 1)
    assert run_all(app) == 0 and endpoint.receiver.requests == []  # its lease still holds
    clock.advance(seconds=2)
    assert run_all(app) == 1
    delivery = delivery_of(session, event)
    assert [(a.error, a.http_status) for a in delivery.attempts] == [
        ("Interrupted", None), (None, 200)]
    assert delivery.attempts[0].attempted_at == clock.now - settings.lease - timedelta(seconds=1)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 2
    assert endpoint.receiver.ids() == [claimed.event_id]


def test_deliveries_commit_or_roll_back_with_their_event(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    with app.app_context():
        emit_event(session, merchant_id=endpoint.merchant.id, type="mandate.created",
                   subject="md_x", data={})
    session.rollback()
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert session.scalar(select(func.count()).select_from(Job)) == 0

    other = make_merchant(session)  # no endpoint: the event is in the feed, nothing to deliver
    session.commit()
    emit(app, session, other)
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert run_all(app) == 0


def test_the_body_is_compact_json_with_the_event_fields(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    event = emit(app, session, endpoint.merchant, "mandate.revoked", mandate="md_1",
                 reason="Débiteur")
    run_all(app)
    body = endpoint.receiver.requests[0].body
    assert json.loads(body)["data"] == {"mandate": "md_1", "reason": "Débiteur"}
    assert b" " not in body.replace(b"D\xc3\xa9biteur", b"") and event.public_id.encode() in body
