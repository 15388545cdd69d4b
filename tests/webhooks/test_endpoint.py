"""Endpoint management: configure, rotate secrets, disable after sustained failure, enable,
replay one event or every failed delivery, remove."""

from __future__ import annotations

import base64
import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.audit.service import verify_chain
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.secrets import current_secret
from portal.webhooks.service import (
    EndpointError,
    configure_endpoint,
    delivery_stats,
    enable_endpoint,
    remove_endpoint,
    replay_event,
    replay_failed,
    rotate_secret,
)
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


def _audit_actions(session: Session, subject: str) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(AuditEvent.subject == subject)
                                .order_by(AuditEvent.seq)))


def _fail_until_settled(app: Flask, session: Session, clock: Clock, event) -> WebhookDelivery:
    """Run the delivery's whole retry schedule, moving the clock to each attempt."""
    while (delivery := delivery_of(session, event)).next_attempt_at is not None:
        clock.move_to(delivery.next_attempt_at)
        run_all(app)
    return delivery


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "hooks.example/x", "https://",
                                 "https://user:pw@hooks.example/", "https://hooks.example/#x",
                                 "https://hooks.example:99999/", "http://10.0.0.8/hooks",
                                 "http://169.254.169.254/latest", "http://[::1]:8000/"])
def test_configure_refuses_urls_that_are_not_public_http(app: Flask, session: Session,
                                                         url: str) -> None:
    merchant = make_merchant(session)
    with app.app_context(), pytest.raises(EndpointError):
        configure_endpoint(session, merchant, url)


def test_configure_returns_a_fresh_whsec_secret_and_audits(app: Flask, session: Session) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        first = configure_endpoint(session, merchant, "https://hooks.example/portal")
        second = configure_endpoint(session, merchant, "https://hooks.example/portal")
    session.commit()
    assert first != second and current_secret(session, merchant) == second
    assert len(base64.b64decode(second.removeprefix("whsec_"))) >= 24
    assert _audit_actions(session, merchant.public_id)[-2:] == ["webhook.configure"] * 2
    assert first not in str(session.scalars(select(AuditEvent.data)).all())


def test_rotation_signs_with_both_secrets_during_the_overlap_then_only_the_new(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    old = endpoint.secret
    with app.app_context():
        new = rotate_secret(session, endpoint.merchant, overlap=timedelta(hours=24))
    session.commit()
    during = emit(app, session, endpoint.merchant)
    run_all(app)
    [request] = endpoint.receiver.requests
    assert request.id == during.public_id
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    # A receiver holding only the old secret and one holding only the new one both accept it.
    assert package_verifies(old, request) and package_verifies(new, request)
    assert signed_with(old, request) and signed_with(new, request)

    clock.advance(hours=24, seconds=1)
    after = emit(app, session, endpoint.merchant)
    run_all(app)
    request = endpoint.receiver.requests[-1]
    assert request.id == after.public_id
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert signed_with(new, request) and not signed_with(old, request)
    assert "webhook.rotate_secret" in _audit_actions(session, endpoint.merchant.public_id)


def test_after_the_overlap_the_package_refuses_the_old_secret(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    with app.app_context():  # rotated 25 hours ago: the overlap is over in real time too
        new = rotate_secret(session, endpoint.merchant, overlap=timedelta(hours=24),
                            now=clock.now - timedelta(hours=25))
    session.commit()
    emit(app, session, endpoint.merchant)
    run_all(app)
    [request] = endpoint.receiver.requests
    assert package_verifies(new, request) and not package_verifies(endpoint.secret, request)


def test_sustained_failure_disables_the_endpoint_audits_and_mails_the_merchant(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.status = 500
    first = emit(app, session, endpoint.merchant)
    clock.advance(hours=1)
    second = emit(app, session, endpoint.merchant, "mandate.signed")
    failed = _fail_until_settled(app, session, clock, first)

    assert failed.status == DeliveryStatus.FAILED
    merchant = session.get(type(endpoint.merchant), endpoint.merchant.id)
    assert merchant.webhook_disabled_at == failed.attempts[-1].attempted_at
    assert failed.attempts[-1].attempted_at - failed.attempts[0].attempted_at >= timedelta(days=3)
    assert "webhook.endpoint_disabled" in _audit_actions(session, merchant.public_id)

    requests_before = len(endpoint.receiver.requests)
    clock.advance(days=2)
    third = emit(app, session, endpoint.merchant, "mandate.active")  # parked from the start
    run_all(app)  # sends the notice, parks the second delivery, attempts nothing
    assert len(endpoint.receiver.requests) == requests_before
    for waiting in (second, third):
        parked = delivery_of(session, waiting)
        assert parked.status == DeliveryStatus.PENDING and parked.next_attempt_at is None

    [eml] = (Path(app.instance_path) / "outbox").glob("*.eml")
    notice = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert notice["To"] == "ops@merchant.example"
    assert endpoint.receiver.url in notice["Subject"]
    text = notice.get_content()
    assert endpoint.receiver.url in text and "webhooks enable" in text and "500" in text
    assert "mail.webhook_disabled_notice" in _audit_actions(session, merchant.public_id)
    assert verify_chain(session).ok

    # Fixed and enabled again: what waited is delivered (several at once, so in any order);
    # the failed one on request.
    endpoint.receiver.status = 200
    with app.app_context():
        assert enable_endpoint(session, merchant) == 2
    session.commit()
    run_all(app)
    assert sorted(endpoint.receiver.ids()[requests_before:]) == sorted(
        [second.public_id, third.public_id])
    assert delivery_of(session, first).status == DeliveryStatus.FAILED
    with app.app_context():
        assert replay_failed(session, merchant) == 1
    session.commit()
    run_all(app)
    assert delivery_of(session, first).status == DeliveryStatus.SUCCEEDED


def test_an_endpoint_that_accepts_other_deliveries_is_not_disabled(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    choked = emit(app, session, endpoint.merchant)
    endpoint.receiver.refuse_ids.add(choked.public_id)
    run_all(app)
    clock.advance(days=2)
    fine = emit(app, session, endpoint.merchant)
    assert _fail_until_settled(app, session, clock, choked).status == DeliveryStatus.FAILED
    assert delivery_of(session, fine).status == DeliveryStatus.SUCCEEDED
    session.expire_all()
    assert endpoint.merchant.webhook_disabled_at is None


def test_enabling_sends_waiting_deliveries_now_instead_of_after_their_backoff(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.fail_first = 5
    event = emit(app, session, endpoint.merchant)
    for _ in range(5):
        clock.move_to(delivery_of(session, event).next_attempt_at)
        run_all(app)
    assert delivery_of(session, event).next_attempt_at - clock.now >= timedelta(minutes=50)
    with app.app_context():
        assert enable_endpoint(session, endpoint.merchant) == 1
    session.commit()
    run_all(app)
    delivery = delivery_of(session, event)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 6
    clock.advance(hours=2)
    assert run_all(app) == 0  # nothing else was left queued for it
    assert len(endpoint.receiver.requests) == 6


def test_410_gone_disables_the_endpoint_at_once(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.status = 410
    event = emit(app, session, endpoint.merchant)
    run_all(app)
    session.expire_all()
    assert endpoint.merchant.webhook_disabled_at == clock.now
    delivery = delivery_of(session, event)
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is None


def test_replaying_an_event_sends_it_again_with_the_same_webhook_id(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    event = emit(app, session, endpoint.merchant)
    run_all(app)
    with app.app_context():
        replayed = replay_event(session, endpoint.merchant, event.public_id)
    session.commit()
    run_all(app)
    assert replayed.public_id.startswith("whk_") and replayed.event_id == event.id
    assert delivery_of(session, event).status == DeliveryStatus.SUCCEEDED
    assert endpoint.receiver.ids() == [event.public_id, event.public_id]
    assert len(set(endpoint.receiver.ids())) == 1  # what a de-duplicating receiver keeps
    assert "webhook.replay" in _audit_actions(session, event.public_id)


def test_replaying_another_merchants_event_is_a_lookup_error(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    other = make_merchant(session)
    session.commit()
    foreign = emit(app, session, other)
    with app.app_context(), pytest.raises(LookupError):
        replay_event(session, endpoint.merchant, foreign.public_id)
    with app.app_context(), pytest.raises(LookupError):
        replay_event(session, endpoint.merchant, "evt_doesnotexist")


def test_replay_failed_queues_every_failed_delivery_with_a_fresh_schedule(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [60, 60]
    endpoint.receiver.status = 502
    events = [emit(app, session, endpoint.merchant) for _ in range(3)]
    for event in events:
        _fail_until_settled(app, session, clock, event)
    assert {delivery_of(session, e).status for e in events} == {DeliveryStatus.FAILED}

    endpoint.receiver.status = 200
    endpoint.receiver.fail_first = len(endpoint.receiver.requests) + 1  # one more 500, then 200s
    with app.app_context():
        assert replay_failed(session, endpoint.merchant) == 3
    session.commit()
    run_all(app)  # one of them (several are in flight at once) meets the last 500, retried later
    clock.advance(minutes=2)
    run_all(app)
    deliveries = [delivery_of(session, e) for e in events]
    assert {d.status for d in deliveries} == {DeliveryStatus.SUCCEEDED}
    assert sorted(d.attempt_count for d in deliveries) == [4, 4, 5]
    with app.app_context():
        assert replay_failed(session, endpoint.merchant) == 0


def test_a_new_url_takes_over_pending_deliveries(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.status = 500
    event = emit(app, session, endpoint.merchant)
    run_all(app)
    moved = Receiver().start()
    try:
        with app.app_context():
            secret = configure_endpoint(session, endpoint.merchant, moved.url)
        session.commit()
        clock.move_to(delivery_of(session, event).next_attempt_at)
        run_all(app)
        assert moved.ids() == [event.public_id] and signed_with(secret, moved.requests[0])
        assert delivery_of(session, event).url == moved.url
    finally:
        moved.stop()


def test_removing_the_endpoint_abandons_pending_deliveries(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    endpoint.receiver.status = 500
    event = emit(app, session, endpoint.merchant)
    run_all(app)
    with app.app_context():
        assert remove_endpoint(session, endpoint.merchant) == 1
    session.commit()
    clock.advance(hours=1)
    later = emit(app, session, endpoint.merchant)
    run_all(app)
    assert delivery_of(session, event).status == DeliveryStatus.ABANDONED
    assert delivery_of(session, later) is None
    assert len(endpoint.receiver.requests) == 1


def test_delivery_stats_count_queue_depth_and_outcomes(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock) -> None:
    emit(app, session, endpoint.merchant)
    run_all(app)
    endpoint.receiver.status = 500
    emit(app, session, endpoint.merchant)
    run_all(app)
    emit(app, session, endpoint.merchant)
    clock.advance(seconds=10)
    stats = delivery_stats(session, now=clock.now)
    assert stats["succeeded"] == 1 and stats["pending"] == 2 and stats["failed"] == 0
    assert stats["due"] == 1 and stats["scheduled"] == 1 and stats["parked"] == 0
    assert 9 <= stats["oldest_due_seconds"] <= 11 and stats["disabled_endpoints"] == 0
