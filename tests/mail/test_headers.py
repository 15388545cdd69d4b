"""Names in mail headers are encoded properly, and names stored before the rule for names (with
CR/LF, NUL, ESC, bidi overrides) never make a mail fail."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.jobs.service import run_due_jobs
from portal.mail.messages import MailSettings, mandate_copy_message
from portal.mandates.models import DeliveryState
from portal.merchants.models import Merchant
from tests.factories import make_invitation
from tests.mail.conftest import Clock, invite_by_email, reloaded

BAD = "Eve\r\nBcc: mallory@example.org\x1b[2J\u202e"  # PostgreSQL stores no NUL


def _outbox(app: Flask) -> list[email.message.EmailMessage]:
    folder = Path(app.instance_path) / "outbox"
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(folder.glob("*.eml"))]


def test_an_invitation_goes_out_despite_a_stored_name_with_line_breaks(
        app: Flask, session: Session, clock: Clock, merchant: Merchant) -> None:
    merchant.display_name = "Bakkerij\r\nBcc: mallory@example.org"  # stored by an older version
    session.commit()
    invitation = invite_by_email(app, session, merchant, customer_name=BAD)
    run_due_jobs(app)
    assert reloaded(session, invitation).delivery_status == DeliveryState.SENT
    [message] = _outbox(app)
    assert message["Bcc"] is None
    [recipient] = message["To"].addresses  # the name stays a (quoted) name, never an address
    assert (recipient.display_name, recipient.addr_spec) == (
        "Eve Bcc: mallory@example.org [2J", "sam@example.org")
    assert message["From"].addresses[0].display_name == "Bakkerij Bcc: mallory@example.org"
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]


def test_display_names_with_commas_quotes_and_accents_stay_one_address(
        app: Flask, session: Session, merchant: Merchant) -> None:
    merchant.display_name = 'Zoë, "Bol" <x@evil.example>'
    session.commit()
    with app.app_context():
        invitation = make_invitation(session, merchant, customer_email="sam@example.org")
        session.flush()
        mandate = invitation.mandate
        mandate.debtor_name = 'Ünal, "Sam" <y@evil.example>'
        message = mandate_copy_message(mandate, b"%PDF-1.7", now=utcnow(),
                                       settings=MailSettings.from_config(app.config))
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    [sender] = parsed["From"].addresses
    assert sender.display_name == 'Zoë, "Bol" <x@evil.example>'
    assert sender.addr_spec == "no-reply@localhost"
    [recipient] = parsed["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == (
        'Ünal, "Sam" <y@evil.example>', "sam@example.org")


def test_the_mandate_copy_builds_for_a_debtor_name_stored_with_control_characters(
        app: Flask, session: Session, merchant: Merchant) -> None:
    with app.app_context():
        invitation = make_invitation(session, merchant, customer_email="sam@example.org")
        session.flush()
        invitation.mandate.debtor_name = BAD
        message = mandate_copy_message(invitation.mandate, b"%PDF-1.7", now=utcnow(),
                                       settings=MailSettings.from_config(app.config))
        raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and [a.addr_spec for a in parsed["To"].addresses] == [
        "sam@example.org"]
