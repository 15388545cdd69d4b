"""Recovering a time window (every event of the merchant in it delivered again, nothing of
another merchant, nothing twice while on its way) and the delivery log, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.events.service import emit_event
from portal.merchants.models import Merchant
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from portal.webhooks.recovery import delivery_log, recover_window
from portal.webhooks.service import EndpointError, configure_endpoint, disable_endpoint
from tests.factories import make_merchant

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _merchant(session: Session) -> Merchant:
    merchant = make_merchant(session)
    configure_endpoint(session, merchant, "https://hooks.example/portal", now=T0)
    return merchant


def _event(session: Session, merchant: Merchant, minutes: int, *, settle: bool = True):
    event = emit_event(session, merchant_id=merchant.id, type="mandate.active",
                       subject="md_x", data={}, now=T0 + timedelta(minutes=minutes))
    session.flush()
    if settle:  # delivered long ago
        for delivery in session.scalars(select(WebhookDelivery).where(
                WebhookDelivery.event_id == event.id)):
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
    return event


def _deliveries(session: Session, event) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.event_id == event.id).order_by(WebhookDelivery.id)))


def test_every_event_of_the_window_and_only_those_is_queued_again(session: Session) -> None:
    merchant, other = _merchant(session), _merchant(session)
    before, first, last, after = (_event(session, merchant, m) for m in (-1, 0, 59, 60))
    foreign = _event(session, other, 30)
    result = recover_window(session, merchant, T0, T0 + timedelta(hours=1), actor="staff:x",
                            now=NOW)
    session.flush()
    assert (result.queued, result.already_pending) == (2, 0)
    for event, count in ((before, 1), (first, 2), (last, 2), (after, 1), (foreign, 1)):
        assert len(_deliveries(session, event)) == count
    new = _deliveries(session, first)[-1]
    assert new.status is DeliveryStatus.PENDING and new.next_attempt_at == NOW
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.recover_window"))
    assert audit.actor == "staff:x" and audit.data["queued"] == 2


def test_an_event_still_on_its_way_is_not_queued_twice(session: Session) -> None:
    merchant = _merchant(session)
    waiting = _event(session, merchant, 5, settle=False)
    done = _event(session, merchant, 6)
    result = recover_window(session, merchant, T0, T0 + timedelta(hours=1), actor="a", now=NOW)
    assert (result.queued, result.already_pending) == (1, 1)
    assert len(_deliveries(session, waiting)) == 1 and len(_deliveries(session, done)) == 2
    again = recover_window(session, merchant, T0, T0 + timedelta(hours=1), actor="a", now=NOW)
    assert (again.queued, again.already_pending) == (0, 2)


def test_a_disabled_endpoint_parks_what_is_recovered(session: Session) -> None:
    merchant = _merchant(session)
    event = _event(session, merchant, 1)
    disable_endpoint(session, merchant, reason="test", now=T0 + timedelta(hours=2))
    recover_window(session, merchant, T0, T0 + timedelta(hours=1), actor="a", now=NOW)
    session.flush()
    parked = _deliveries(session, event)[-1]
    assert parked.status is DeliveryStatus.PENDING and parked.next_attempt_at is None


@pytest.mark.parametrize(("start", "end", "message"), [
    (T0, T0, "end after it starts"),
    (T0, T0 - timedelta(minutes=1), "end after it starts"),
    (T0 - timedelta(days=40), T0, "at most 31 days"),
    (NOW + timedelta(hours=1), NOW + timedelta(hours=2), "future"),
    (T0.replace(tzinfo=None), NOW.replace(tzinfo=None), "time zone"),
])
def test_windows_the_portal_will_not_recover(session: Session, start, end, message) -> None:
    merchant = _merchant(session)
    with pytest.raises(EndpointError, match=message):
        recover_window(session, merchant, start, end, actor="a", now=NOW)


def test_without_an_endpoint_nothing_is_recovered(session: Session) -> None:
    merchant = make_merchant(session)
    with pytest.raises(EndpointError, match="no webhook endpoint"):
        recover_window(session, merchant, T0, NOW, actor="a", now=NOW)
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_the_log_lists_the_merchants_deliveries_newest_first_with_attempts(
        session: Session) -> None:
    merchant, other = _merchant(session), _merchant(session)
    old, new = _event(session, merchant, 1), _event(session, merchant, 2)
    _event(session, other, 3)
    delivery = _deliveries(session, old)[0]
    session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=T0, http_status=500,
                               latency_ms=120, response_excerpt="<b>oops</b>"))
    session.flush()
    session.expire_all()
    log = delivery_log(session, merchant)
    assert [d.event.public_id for d in log] == [new.public_id, old.public_id]
    assert [(a.http_status, a.latency_ms, a.response_excerpt) for a in log[1].attempts] == [
        (500, 120, "<b>oops</b>")]
    assert [d.event.public_id for d in delivery_log(session, merchant,
                                                    event_public_id=old.public_id)] == [
        old.public_id]


@pytest.mark.parametrize("url", ["https://hooks.example/in?q=\x00", "https://hooks.example/a b",
                                 "https://hooks.example/\x1b[2J"])
def test_an_endpoint_url_with_control_characters_is_refused_before_the_database(
        session: Session, url: str) -> None:
    merchant = make_merchant(session)
    with pytest.raises(EndpointError, match="control characters"):
        configure_endpoint(session, merchant, url)
    session.flush()
    assert merchant.webhook_url is None
