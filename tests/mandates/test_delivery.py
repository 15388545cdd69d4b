"""An invitation's delivery state never stays ``queued``: a message nobody needs any more when
the worker gets to it is recorded as not sent, with why, and the merchant hears it once."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.serializers import invitation_json
from portal.events.models import Event
from portal.jobs.service import run_due_jobs
from portal.mandates.models import DeliveryState
from portal.mandates.service import withdraw_invitation
from portal.merchants.models import Merchant
from tests.mail.conftest import clock, events_of, invite_by_email, merchant, reloaded  # noqa: F401
from tests.sign.driver import Journey


def _outbox(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "outbox"
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_signed_before_the_worker_sent_it_is_not_sent_signed(
        app: Flask, session: Session, merchant: Merchant) -> None:  # noqa: F811
    invitation = invite_by_email(app, session, merchant)
    journey = Journey(app, app.test_client(), session, invitation)
    app.config["SANDBOX_AUTO_WEBHOOK"] = False  # the customer is still at the bank
    journey.pay("paid")

    run_due_jobs(app, kinds=("mail.invitation",))
    run_due_jobs(app, kinds=("mail.invitation",))  # a retry changes nothing more
    after = reloaded(session, invitation)
    assert after.delivery_status == DeliveryState.NOT_SENT_SIGNED and after.sent_at is None
    assert _outbox(app) == []
    [event] = events_of(session, invitation, "invitation.not_sent")
    assert event.data == {"invitation": invitation.public_id,
                          "mandate": invitation.mandate.public_id, "channel": "email",
                          "reason": "signed"}
    with app.app_context():
        assert invitation_json(after, after.created_at)["delivery_status"] == "not_sent_signed"


@pytest.mark.parametrize("close", ["withdraw", "expire"])
def test_withdrawn_or_expired_first_is_not_sent_closed(
        app: Flask, session: Session, merchant: Merchant, clock, close: str) -> None:  # noqa: F811
    invitation = invite_by_email(app, session, merchant)
    if close == "withdraw":
        withdraw_invitation(session, reloaded(session, invitation), actor="test", now=clock.now)
        session.commit()
    else:
        clock.move_to(invitation.expires_at)
    run_due_jobs(app, kinds=("mail.invitation",))
    after = reloaded(session, invitation)
    assert after.delivery_status == DeliveryState.NOT_SENT_CLOSED
    [event] = events_of(session, invitation, "invitation.not_sent")
    assert event.data["reason"] == ("withdrawn" if close == "withdraw" else "expired")
    assert _outbox(app) == []


def test_a_sent_invitation_is_not_marked_not_sent_afterwards(
        app: Flask, session: Session, merchant: Merchant) -> None:  # noqa: F811
    invitation = invite_by_email(app, session, merchant)
    run_due_jobs(app)
    journey = Journey(app, app.test_client(), session, reloaded(session, invitation))
    journey.follow(journey.pay("paid"))
    run_due_jobs(app)
    assert reloaded(session, invitation).delivery_status == DeliveryState.SENT
    assert not session.scalars(select(Event).where(Event.type == "invitation.not_sent")).all()
