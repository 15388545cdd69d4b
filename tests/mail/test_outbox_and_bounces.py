"""Development outbox files, Reply-To choices, and bounces fed back from the mail server."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from portal.jobs.service import run_due_jobs
from portal.mail.bounces import parse_bounce
from portal.mandates.models import DeliveryState, Invitation
from portal.merchants.models import Merchant
from tests.mail.conftest import Clock, events_of, invite_by_email, reloaded


def _outbox(app: Flask) -> list[EmailMessage]:
    folder = Path(app.instance_path) / "outbox"
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(folder.glob("*.eml"))]


def test_in_development_the_mail_is_an_eml_file_in_the_instance_outbox(
        app: Flask, session: Session, clock: Clock, merchant: Merchant) -> None:
    invite_by_email(app, session, merchant, locale="fr")
    run_due_jobs(app)
    [message] = _outbox(app)
    assert message["Content-Language"] == "fr" and message["Reply-To"]
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None


def test_reply_to_falls_back_to_the_contact_address_and_is_absent_without_either(
        app: Flask, session: Session, clock: Clock, merchant: Merchant) -> None:
    merchant.reply_to_email, merchant.contact_email = None, "ops@bakkerij.example"
    session.commit()
    invite_by_email(app, session, merchant)
    run_due_jobs(app)
    assert _outbox(app)[0]["Reply-To"] == "Bakkerij Bol <ops@bakkerij.example>"

    merchant.contact_email = None
    session.commit()
    invite_by_email(app, session, merchant, email_address="kim@example.org")
    run_due_jobs(app)
    [second] = [m for m in _outbox(app) if "kim@" in m["To"]]
    assert second["Reply-To"] is None
    assert "Reply to this email" not in second.get_body(("plain",)).get_content()


def dsn(message_id: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) as a mail server sends it."""
    return f"""From: MAILER-DAEMON@mx.example
To: bounces@portal.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; sam@example.org
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <sam@example.org>: Recipient address
    rejected: User unknown in virtual mailbox table

--b1
Content-Type: text/rfc822-headers

From: Bakkerij Bol <no-reply@portal.example>
To: Sam de Vries <sam@example.org>
Message-ID: {message_id}
Subject: Bakkerij Bol asks you to sign a direct debit mandate

--b1--
""".encode()


def _sent(app: Flask, session: Session, merchant: Merchant) -> tuple[Invitation, str]:
    invitation = invite_by_email(app, session, merchant)
    run_due_jobs(app)
    [message] = _outbox(app)
    return invitation, message["Message-ID"]


def test_a_hard_bounce_marks_the_delivery_failed_and_tells_the_merchant(
        app: Flask, session: Session, runner: FlaskCliRunner, clock: Clock,
        merchant: Merchant, tmp_path: Path) -> None:
    invitation, message_id = _sent(app, session, merchant)
    report = tmp_path / "bounce.eml"
    report.write_bytes(dsn(message_id))

    result = runner.invoke(args=["mail", "bounce", str(report)])
    assert result.exit_code == 0 and f"recorded: {invitation.public_id} 5.1.1" in result.output
    bounced = reloaded(session, invitation)
    assert bounced.delivery_status == DeliveryState.FAILED
    assert bounced.delivery_error.startswith("email: bounce 5.1.1: smtp; 550 5.1.1")
    [event] = events_of(session, invitation, "invitation.delivery_failed")
    assert event.data["channel"] == "email"


def test_delays_and_foreign_reports_are_ignored(
        app: Flask, session: Session, runner: FlaskCliRunner, clock: Clock,
        merchant: Merchant) -> None:
    invitation, message_id = _sent(app, session, merchant)
    assert parse_bounce(dsn(message_id, action="delayed", status="4.4.1")) is None
    assert parse_bounce(dsn("<12345.someone-else@example.org>")) is None
    assert parse_bounce(b"Subject: hello\n\nnot a report\n") is None
    result = runner.invoke(args=["mail", "bounce"], input=dsn(message_id, status="4.2.2"))
    assert result.exit_code == 0 and result.output.startswith("ignored")
    assert reloaded(session, invitation).delivery_status == DeliveryState.SENT


def test_the_merchants_logo_heads_the_mail_when_it_has_one(
        app: Flask, session: Session, clock: Clock, merchant: Merchant) -> None:
    merchant.logo, merchant.logo_mime = b"\x89PNG\r\n\x1a\n", "image/png"
    session.commit()
    invite_by_email(app, session, merchant)
    run_due_jobs(app)
    html = _outbox(app)[0].get_body(("html",)).get_content()
    logo = f"http://localhost/brand/{merchant.public_id}/logo"
    assert f'<img src="{logo}"' in html
    assert app.test_client().get(logo.removeprefix("http://localhost")).status_code == 200
