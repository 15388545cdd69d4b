"""End to end: a customer signs through the sandbox; the merchant's endpoint hears all of it."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.events.models import Event
from portal.mandates.models import MandateStatus
from portal.webhooks.service import configure_endpoint
from portal.webhooks.workers import deliver_due
from tests.factories import make_invitation, make_merchant
from tests.sign.driver import Journey
from tests.webhooks.conftest import package_verifies, signed_with
from tests.webhooks.receiver import Receiver


def test_signing_a_mandate_reaches_the_merchant_as_signed_webhooks(
        app: Flask, client: FlaskClient, session: Session, receiver: Receiver) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    merchant = make_merchant(session)
    with app.app_context():
        secret = configure_endpoint(session, merchant, receiver.url)
    invitation = make_invitation(session, merchant)
    session.commit()

    journey = Journey(app, client, session, invitation)
    journey.follow(journey.pay("paid"))
    assert journey.mandate().status == MandateStatus.ACTIVE
    assert deliver_due(app) == 4

    events = list(session.scalars(select(Event).where(Event.merchant_id == merchant.id)
                                  .order_by(Event.created_at, Event.id)))
    # Sent several at once, so they may arrive in any order: the events' order is in the feed.
    received = sorted(receiver.requests, key=lambda r: [e.public_id for e in events].index(r.id))
    assert len(receiver.requests) == 4
    assert [r.json()["type"] for r in received] == [
        "mandate.created", "invitation.opened", "mandate.signed", "mandate.active"]
    assert [r.id for r in received] == [e.public_id for e in events]
    assert all(package_verifies(secret, r) and signed_with(secret, r) for r in received)
    mandate_id = journey.mandate().public_id
    assert {r.json()["data"]["mandate"] for r in received} == {mandate_id}
    assert received[-1].json()["data"]["status"] == "active"
