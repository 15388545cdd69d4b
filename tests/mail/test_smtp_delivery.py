"""Invitation mails over a real SMTP server: what arrives, in which language, with which
headers; outages retried until delivery; a 550 recorded as a hard failure and not retried."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.jobs.models import Job, JobStatus
from portal.jobs.service import run_due_jobs
from portal.mandates.models import DeliveryState
from portal.merchants.models import Merchant
from tests.mail.conftest import (
    Clock,
    SmtpServer,
    events_of,
    invite_by_email,
    password_check,
    reloaded,
    server_tls_context,
    tls_files,
)
from tests.reconfigure import reconfigure

#: Words only the right language's mail contains: subject ending, salutation, button.
LANGUAGES = {
    "en": ("asks you to sign a direct debit mandate", "Dear Sam de Vries,", "Sign the mandate"),
    "nl": ("vraagt u een machtiging voor automatische incasso te tekenen", "Beste Sam de Vries,",
           "Machtiging tekenen"),
    "de": ("bittet Sie, ein SEPA-Lastschriftmandat zu erteilen", "Guten Tag Sam de Vries,",
           "Mandat erteilen"),
    "fr": ("vous invite à signer un mandat de prélèvement SEPA", "Bonjour Sam de Vries,",
           "Signer le mandat"),
}


def _link_in(text: str) -> str:
    return next(word for word in text.split() if word.startswith("http://localhost/sign/"))


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_invitation_arrives_with_both_bodies_headers_and_a_working_link_in_the_language(
        app: Flask, client: FlaskClient, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant, locale: str) -> None:
    invitation = invite_by_email(app, session, merchant, locale=locale)
    assert smtp.messages == []  # queued, not sent inside the request

    assert run_due_jobs(app) == 1
    [received] = smtp.mailbox.received
    message = received.message
    subject_end, salutation, button = LANGUAGES[locale]
    # (a long subject is folded right after "Subject:"; the unfolded value keeps that space)
    assert message["Subject"].strip() == f"Bakkerij Bol {subject_end}"
    assert message["From"] == "Bakkerij Bol <no-reply@portal.example>"
    assert message["To"] == "Sam de Vries <sam@example.org>"
    assert message["Reply-To"] == "Bakkerij Bol <klantenservice@bakkerij.example>"
    assert received.rcpt_tos == ["sam@example.org"]
    assert received.mail_from == "no-reply@portal.example"
    message_id = message["Message-ID"]
    assert message_id.startswith("<") and message_id.endswith("@portal.example>")
    assert f".{invitation.public_id}@" in message_id
    assert abs(parsedate_to_datetime(message["Date"]) - clock.now) < timedelta(seconds=1)
    assert message["Content-Language"] == locale
    assert message["List-Unsubscribe"] is None  # only reminders carry it

    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert salutation in text and button in text
    assert f'<html lang="{locale}">' in html and button in html
    link = _link_in(text)
    assert link in html
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200

    sent = reloaded(session, invitation)
    assert sent.delivery_status == DeliveryState.SENT and sent.sent_at == clock.now
    assert [e.data["channel"] for e in events_of(session, invitation, "invitation.sent")] == [
        "email"]


def test_an_outage_is_retried_with_backoff_until_the_server_is_back_and_nothing_is_lost(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    smtp.stop()
    invitation = invite_by_email(app, session, merchant)

    run_due_jobs(app)
    job = session.scalar(select(Job).where(Job.kind == "mail.invitation"))
    assert job.status == JobStatus.PENDING and job.run_at == clock.now + timedelta(seconds=60)
    waiting = reloaded(session, invitation)
    assert waiting.delivery_status == DeliveryState.QUEUED
    assert waiting.delivery_error.startswith("email: ConnectionRefusedError")
    assert run_due_jobs(app) == 0  # not due before its time

    clock.advance(seconds=60)
    run_due_jobs(app)  # still down: the next wait is longer
    session.refresh(job)
    assert job.attempts == 2 and job.run_at == clock.now + timedelta(seconds=300)

    smtp.start()
    clock.advance(seconds=300)
    assert run_due_jobs(app) == 1
    assert len(smtp.messages) == 1
    session.refresh(job)
    assert job.status == JobStatus.DONE and job.attempts == 3
    delivered = reloaded(session, invitation)
    assert delivered.delivery_status == DeliveryState.SENT and delivered.delivery_error is None
    assert len(events_of(session, invitation, "invitation.sent")) == 1


def test_a_550_on_rcpt_is_recorded_as_a_hard_failure_and_not_retried(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    smtp.mailbox.refuse.add("nobody@example.org")
    invitation = invite_by_email(app, session, merchant, email_address="nobody@example.org")

    assert run_due_jobs(app) == 1
    failed = reloaded(session, invitation)
    assert failed.delivery_status == DeliveryState.FAILED
    assert failed.delivery_error.startswith("email: 550 5.1.1")
    assert "User unknown" in failed.delivery_error
    job = session.scalar(select(Job).where(Job.kind == "mail.invitation"))
    assert job.status == JobStatus.DONE  # finished: a refusal is not retried
    [event] = events_of(session, invitation, "invitation.delivery_failed")
    assert event.data["channel"] == "email" and event.data["error"].startswith("550")
    assert events_of(session, invitation, "invitation.sent") == []
    audit = session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject == invitation.public_id)).all()
    assert "invitation.delivery_failed" in audit

    clock.advance(days=8)  # no retry and no reminders for a mailbox that does not exist
    run_due_jobs(app)
    assert smtp.messages == []
    assert session.scalars(select(Job.kind).where(Job.kind.like("mail.%"))).all() == [
        "mail.invitation"]


def test_when_retries_run_out_the_delivery_is_failed_once(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    app.config["DELIVERY_RETRY_SCHEDULE"] = [60, 120]
    smtp.stop()
    invitation = invite_by_email(app, session, merchant)
    for wait in (0, 60, 120):
        clock.advance(seconds=wait)
        assert run_due_jobs(app) == 1

    failed = reloaded(session, invitation)
    assert failed.delivery_status == DeliveryState.FAILED
    assert failed.delivery_error.startswith("email: gave up after 3 attempts: ")
    job = session.scalar(select(Job).where(Job.kind == "mail.invitation"))
    assert job.status == JobStatus.DEAD and job.attempts == 3
    assert len(events_of(session, invitation, "invitation.delivery_failed")) == 1


def test_starttls_with_login_verified_against_the_configured_ca(
        app: Flask, session: Session, tmp_path: Path, merchant: Merchant) -> None:
    cert, key = tls_files(tmp_path)
    server = SmtpServer(tls_context=server_tls_context(cert, key), require_starttls=True,
                        auth_required=True, authenticator=password_check("portal", "s3cret"))
    server.start()
    try:
        reconfigure(app, MAIL_TRANSPORT="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port,
                    SMTP_SECURITY="starttls", SMTP_USERNAME="portal",
                    SMTP_PASSWORD="s3cret", SMTP_CA_FILE=str(cert))
        invite_by_email(app, session, merchant)
        run_due_jobs(app)
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_implicit_tls(app: Flask, session: Session, tmp_path: Path, merchant: Merchant) -> None:
    cert, key = tls_files(tmp_path)
    server = SmtpServer(ssl_context=server_tls_context(cert, key)).start()
    try:
        reconfigure(app, MAIL_TRANSPORT="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port,
                    SMTP_SECURITY="tls", SMTP_CA_FILE=str(cert))
        invite_by_email(app, session, merchant)
        run_due_jobs(app)
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_a_wrong_password_is_retried_not_recorded_as_the_customers_fault(
        app: Flask, session: Session, tmp_path: Path, merchant: Merchant) -> None:
    cert, key = tls_files(tmp_path)
    server = SmtpServer(tls_context=server_tls_context(cert, key), require_starttls=True,
                        auth_required=True, authenticator=password_check("portal", "s3cret"))
    server.start()
    try:
        reconfigure(app, MAIL_TRANSPORT="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port,
                    SMTP_SECURITY="starttls", SMTP_USERNAME="portal",
                    SMTP_PASSWORD="wrong", SMTP_CA_FILE=str(cert))
        invitation = invite_by_email(app, session, merchant)
        run_due_jobs(app)
        waiting = reloaded(session, invitation)
        assert waiting.delivery_status == DeliveryState.QUEUED
        assert "SMTPAuthenticationError" in waiting.delivery_error
    finally:
        server.stop()


def test_the_envelope_sender_is_the_bounce_address_when_set(
        app: Flask, session: Session, smtp: SmtpServer, merchant: Merchant) -> None:
    reconfigure(app, MAIL_BOUNCE_ADDRESS="bounces@portal.example")
    invite_by_email(app, session, merchant)
    run_due_jobs(app)
    [received] = smtp.mailbox.received
    assert received.mail_from == "bounces@portal.example"
    assert parseaddr(received.message["From"])[1] == "no-reply@portal.example"
