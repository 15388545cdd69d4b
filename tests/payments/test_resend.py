"""Sending a payment request's link again (the customer lost it): by the way it was sent, or by
email when it was only shown; audited and announced (``payment_request.resent``); a repeat within
the minute is one resend; refused once the link takes no payment or the customer cannot be
reached that way."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.jobs.service import run_due_jobs
from portal.merchants.models import Merchant
from portal.payments.models import PaymentMessage, PaymentRequest
from portal.payments.service import (
    CustomerDetails,
    Resend,
    ResendRefused,
    record_external_payment,
    resend_payment_request,
    withdraw_payment_request,
)
from tests.payments.conftest import Clock, events, make_request


def _outbox(app: Flask, suffix: str) -> list[Path]:
    folder = Path(app.instance_path) / "outbox"
    return sorted(folder.glob(f"*{suffix}")) if folder.exists() else []


def _sent(session: Session, request: PaymentRequest) -> list[tuple[str, str, str]]:
    session.expire_all()
    return [(row.kind, row.channel, row.status.value) for row in session.scalars(
        select(PaymentMessage).where(PaymentMessage.request_id == request.id)
        .order_by(PaymentMessage.id))]


def _resend(session: Session, request: PaymentRequest, clock: Clock, *,
            sms_available: bool = True) -> Resend:
    outcome = resend_payment_request(session, request, actor="staff:stf_test", now=clock.now,
                                     sms_available=sms_available)
    session.commit()
    return outcome


def test_the_link_goes_out_again_audited_and_announced_once_per_minute(
        app: Flask, session: Session, merchant: Merchant, clock: Clock, backend: str) -> None:
    request = make_request(session, merchant, channel="email")
    run_due_jobs(app)
    assert _sent(session, request) == [("request", "email", "sent")]
    clock.advance(hours=2)
    assert _resend(session, request, clock) is Resend.SENT
    assert _resend(session, request, clock) is Resend.REPEAT  # a double click
    run_due_jobs(app)
    assert _sent(session, request) == [("request", "email", "sent")] * 2
    assert len(_outbox(app, ".eml")) == 2
    resent = [e for e in events(session, request.public_id)
              if e.type == "payment_request.resent"]
    assert [(e.data["channel"], e.data["open_amount"]) for e in resent] == [("email", 10_000)]
    audit = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "payment_request.resend")).all()
    assert [(a.subject, a.actor, a.data) for a in audit] == [
        (request.public_id, "staff:stf_test", {"channel": "email"})]
    clock.advance(minutes=1)  # a minute later it is a new resend
    assert _resend(session, request, clock) is Resend.SENT
    run_due_jobs(app)
    assert len(_sent(session, request)) == 3


def test_an_sms_request_goes_again_by_sms_and_one_only_shown_goes_by_email(
        app: Flask, session: Session, merchant: Merchant, clock: Clock, backend: str) -> None:
    customer = CustomerDetails(name="Sam", email="sam@example.org", phone="+31612345678",
                               locale="nl")
    texted = make_request(session, merchant, channel="sms", customer=customer)
    shown = make_request(session, merchant, channel="none", customer=customer)
    run_due_jobs(app)
    assert _resend(session, texted, clock) is Resend.SENT
    assert _resend(session, shown, clock) is Resend.SENT
    run_due_jobs(app)
    assert _sent(session, texted) == [("request", "sms", "sent")] * 2
    assert _sent(session, shown) == [("request", "email", "sent")]


@pytest.mark.parametrize("case", ["paid", "withdrawn", "expired", "no email", "no phone",
                                  "no sms"])
def test_a_resend_is_refused_when_the_link_takes_nothing_or_nobody_can_be_reached(
        app: Flask, session: Session, merchant: Merchant, clock: Clock, case: str) -> None:
    customer = CustomerDetails(name="Sam", locale="nl",
                               email=None if case == "no email" else "sam@example.org",
                               phone=None if case == "no phone" else "+31612345678")
    request = make_request(session, merchant, customer=customer,
                           channel="sms" if case in ("no phone", "no sms") else "email")
    if case == "paid":
        record_external_payment(session, request, request.amount_cents, method=None,
                                reference=None, actor="t", now=clock.now)
    elif case == "withdrawn":
        withdraw_payment_request(session, request, actor="t", now=clock.now)
    elif case == "expired":
        clock.advance(days=31)
    session.commit()
    with pytest.raises(ResendRefused) as refused:
        resend_payment_request(session, request, actor="staff:stf_test", now=clock.now,
                               sms_available=case != "no sms")
    assert str(refused.value) == {
        "paid": "the request is paid", "withdrawn": "the request is withdrawn",
        "expired": "the request has expired", "no email": "the customer has no email address",
        "no phone": "the customer has no mobile number",
        "no sms": "this portal does not send text messages"}[case]
    session.rollback()
    assert not [e for e in events(session, request.public_id)
                if e.type == "payment_request.resent"]
    assert session.scalar(select(AuditEvent).where(
        AuditEvent.action == "payment_request.resend")) is None
