"""Invitations nobody signed expire on time: the mandate moves to ``expired`` through the state
machine and the merchant hears ``invitation.expired``, once."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.serializers import invitation_status
from portal.audit.models import AuditEvent
from portal.events.models import Event
from portal.jobs.models import Job, JobStatus
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Invitation, Mandate, MandateStatus
from portal.providers.base import PaymentStatus
from portal.verification.models import VerificationPayment
from tests.factories import make_invitation
from tests.mail.conftest import Clock
from tests.sign.driver import Journey


def _invite(app: Flask, session: Session, **overrides: object) -> Invitation:
    with app.app_context():
        invitation = make_invitation(session, **overrides)
    session.commit()
    return invitation


def _types(session: Session, *subjects: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(Event.type).where(Event.subject.in_(subjects))
                                .order_by(Event.id)))


def _status(session: Session, invitation: Invitation) -> MandateStatus:
    session.expire_all()
    return session.get(Mandate, invitation.mandate_id).status


def test_the_expiry_job_is_queued_with_the_invitation_for_its_expiry(
        app: Flask, session: Session, clock: Clock) -> None:
    invitation = _invite(app, session)
    job = session.scalar(select(Job).where(Job.kind == "invitation.expire"))
    assert job.payload["invitation"] == invitation.public_id
    assert job.run_at == invitation.expires_at and job.status == JobStatus.PENDING


def test_an_unsigned_invitation_expires_its_mandate_once(
        app: Flask, session: Session, clock: Clock) -> None:
    invitation = _invite(app, session)
    mandate_id = invitation.mandate.public_id
    clock.move_to(invitation.expires_at - timedelta(seconds=1))
    assert run_due_jobs(app) == 0

    clock.advance(seconds=1)
    assert run_due_jobs(app) == 1
    assert _status(session, invitation) == MandateStatus.EXPIRED
    assert _types(session, invitation.public_id, mandate_id) == [
        "mandate.created", "mandate.expired", "invitation.expired"]
    expired = session.scalars(select(Event).where(Event.type == "invitation.expired")).one()
    assert expired.data == {"invitation": invitation.public_id, "mandate": mandate_id}
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "mandate.expire")).one()
    assert audit.actor == "system" and audit.data["from"] == "invited"
    assert invitation_status(session.get(Invitation, invitation.id), clock.now) == "expired"

    # run again (a replayed job, a second worker): nothing more happens
    from portal.reminders.expiry import expire_invitation

    expire_invitation(session, invitation.public_id, now=clock.now)
    session.commit()
    assert _types(session, invitation.public_id, mandate_id).count("invitation.expired") == 1


def test_signed_and_withdrawn_invitations_are_left_alone(
        app: Flask, session: Session, clock: Clock) -> None:
    signed = _invite(app, session)
    journey = Journey(app, app.test_client(), session, signed)
    journey.follow(journey.pay("paid"))
    withdrawn = _invite(app, session)
    from portal.mandates.service import withdraw_invitation

    withdraw_invitation(session, withdrawn, actor="test", now=clock.now)
    session.commit()

    clock.move_to(max(signed.expires_at, withdrawn.expires_at) + timedelta(minutes=1))
    run_due_jobs(app)
    assert _status(session, signed) == MandateStatus.ACTIVE
    assert _status(session, withdrawn) == MandateStatus.CANCELLED
    assert session.scalars(select(Event).where(Event.type == "invitation.expired")).all() == []


def test_a_verification_payment_still_open_at_expiry_is_waited_for(
        app: Flask, session: Session, clock: Clock) -> None:
    invitation = _invite(app, session)
    journey = Journey(app, app.test_client(), session, invitation)
    assert journey.submit().status_code == 303  # at the bank now; the payment is open
    [payment] = session.scalars(select(VerificationPayment)).all()
    assert payment.status == PaymentStatus.OPEN

    clock.move_to(invitation.expires_at)
    run_due_jobs(app)
    assert _status(session, invitation) == MandateStatus.AWAITING_VERIFICATION
    job = session.scalar(select(Job).where(Job.kind == "invitation.expire"))
    assert job.status == JobStatus.PENDING and job.run_at == clock.now + timedelta(hours=1)

    payment.status = PaymentStatus.FAILED  # the bank gave up; the customer never retried
    session.commit()
    clock.advance(hours=1)
    run_due_jobs(app)
    assert _status(session, invitation) == MandateStatus.EXPIRED
    assert "invitation.expired" in _types(session, invitation.public_id)
