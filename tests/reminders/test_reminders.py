"""Reminders on the merchant's schedule, and every reason they stop: signing, unsubscribing,
expiry, withdrawal, a failed delivery."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.jobs.models import Job, JobStatus
from portal.jobs.service import run_due_jobs
from portal.mandates.models import InvitationChannel
from portal.mandates.service import withdraw_invitation
from portal.merchants.models import Merchant
from portal.sms.service import queue_invitation_sms
from tests.factories import make_invitation
from tests.mail.conftest import Clock, SmtpServer, invite_by_email, reloaded
from tests.sign.driver import Journey


def _reminders(smtp: SmtpServer) -> list:
    return [m for m in smtp.messages if m["List-Unsubscribe"]]


def _sms_texts(app: Flask) -> list[str]:
    folder = Path(app.instance_path) / "outbox"
    return [p.read_text() for p in sorted(folder.glob("*.sms.txt"))]


def test_reminders_go_out_on_days_3_and_7_in_the_customers_language_with_one_click_unsubscribe(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    invite_by_email(app, session, merchant, locale="de")
    run_due_jobs(app)
    assert len(smtp.messages) == 1 and _reminders(smtp) == []

    clock.advance(days=3, seconds=-1)
    assert run_due_jobs(app) == 0  # not a second early
    clock.advance(seconds=1)
    assert run_due_jobs(app) == 1
    [first] = _reminders(smtp)
    assert first["Subject"].strip().startswith("Erinnerung: Bakkerij Bol bittet Sie")
    assert first["Content-Language"] == "de" and first["Reply-To"]
    unsubscribe = first["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://localhost/s/") and unsubscribe.endswith(
        "/unsubscribe>")
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = first.get_body(("plain",)).get_content()
    assert "Eine Erinnerung: Ihre Unterschrift fehlt noch." in text
    assert unsubscribe.strip("<>") in text

    clock.advance(days=4)
    assert run_due_jobs(app) == 1
    assert len(_reminders(smtp)) == 2
    clock.advance(days=30)
    run_due_jobs(app)
    assert len(_reminders(smtp)) == 2  # the schedule has run out


def test_no_reminder_after_the_mandate_is_signed(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    invitation = invite_by_email(app, session, merchant)
    run_due_jobs(app)
    journey = Journey(app, app.test_client(), session, invitation)
    journey.follow(journey.pay("paid"))

    clock.advance(days=10)
    run_due_jobs(app)
    assert _reminders(smtp) == []
    reminder_jobs = session.scalars(select(Job).where(Job.kind == "mail.reminder")).all()
    assert len(reminder_jobs) == 2 and {j.status for j in reminder_jobs} == {JobStatus.DONE}


def test_no_reminder_after_the_customer_unsubscribes_by_one_click(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    invitation = invite_by_email(app, session, merchant)
    run_due_jobs(app)
    clock.advance(days=3)
    run_due_jobs(app)
    [first] = _reminders(smtp)
    path = urlsplit(first["List-Unsubscribe"].strip("<>")).path

    client = app.test_client()  # a mail provider's POST: no cookies, no CSRF token
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and b'data-done="yes"' in response.data
    assert reloaded(session, invitation).unsubscribed_at == clock.now

    clock.advance(days=4)
    run_due_jobs(app)
    assert len(_reminders(smtp)) == 1


def test_the_unsubscribe_link_asks_first_when_opened(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    invitation = invite_by_email(app, session, merchant, locale="nl")
    run_due_jobs(app)
    clock.advance(days=3)
    run_due_jobs(app)
    path = urlsplit(_reminders(smtp)[0]["List-Unsubscribe"].strip("<>")).path
    client = app.test_client()

    page = client.get(path)  # what a link scanner does: nothing changes
    assert page.status_code == 200 and b'data-done="no"' in page.data
    assert "Herinneringen stoppen" in page.get_data(as_text=True)
    assert reloaded(session, invitation).unsubscribed_at is None

    done = client.post(path)  # the button on that page
    assert b'data-done="yes"' in done.data
    assert "geen herinneringen meer" in done.get_data(as_text=True)
    assert client.get(path).status_code == 200 and b'data-done="yes"' in client.get(path).data
    assert client.post(path.replace(path.split("/")[2], "AAAAAAAAAA")).status_code == 404


def test_no_reminder_after_expiry_or_withdrawal(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    short = invite_by_email(app, session, merchant, ttl=timedelta(days=5))
    withdrawn = invite_by_email(app, session, merchant, email_address="kim@example.org")
    run_due_jobs(app)
    kinds = session.scalars(select(Job.dedupe_key).where(Job.kind == "mail.reminder")).all()
    assert sorted(kinds) == sorted([f"mail.reminder:{short.public_id}:1",
                                    f"mail.reminder:{withdrawn.public_id}:1",
                                    f"mail.reminder:{withdrawn.public_id}:2"])
    withdraw_invitation(session, withdrawn, actor="test", now=clock.now)
    session.commit()
    short.expires_at = clock.now + timedelta(days=2)  # shortened after the schedule was made
    session.commit()

    clock.advance(days=8)
    run_due_jobs(app)
    assert _reminders(smtp) == []


def test_the_merchants_own_schedule_is_used_and_none_means_no_reminders(
        app: Flask, session: Session, runner: FlaskCliRunner, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    result = runner.invoke(args=["merchant", "delivery", "--merchant", merchant.public_id,
                                 "--reminder-days", "1,2,5"])
    assert result.exit_code == 0 and "reminder days: 1,2,5" in result.output
    invite_by_email(app, session, merchant)
    run_due_jobs(app)
    for _ in range(6):
        clock.advance(days=1)
        run_due_jobs(app)
    assert len(_reminders(smtp)) == 3

    result = runner.invoke(args=["merchant", "delivery", "--merchant", merchant.public_id,
                                 "--reminder-days", "none"])
    assert "reminder days: none" in result.output
    invite_by_email(app, session, merchant, email_address="kim@example.org")
    run_due_jobs(app)
    assert session.scalars(select(Job).where(Job.kind == "mail.reminder",
                                             Job.dedupe_key.contains("kim"))).all() == []

    bad = runner.invoke(args=["merchant", "delivery", "--merchant", merchant.public_id,
                              "--reminder-days", "0,200"])
    assert bad.exit_code != 0 and "from 1 to 90" in bad.output


def test_an_sms_invitation_is_reminded_by_sms_and_by_email(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    with app.app_context():
        invitation = make_invitation(session, merchant, locale="fr",
                                     customer_phone="+33612345678",
                                     channel=InvitationChannel.SMS)
        queue_invitation_sms(session, invitation)
    session.commit()
    run_due_jobs(app)
    assert len(_sms_texts(app)) == 1 and smtp.messages == []

    clock.advance(days=3)
    assert run_due_jobs(app) == 2
    [reminder_sms] = [t for t in _sms_texts(app) if "Rappel" in t]
    assert "Rappel : Bakkerij Bol attend toujours votre mandat" in reminder_sms
    assert "Segments: 1 (GSM-7" in reminder_sms and "/s/" in reminder_sms
    [mail] = _reminders(smtp)
    assert mail["Content-Language"] == "fr"
    assert mail["Subject"].strip().startswith("Rappel : Bakkerij Bol")


def test_a_hard_failure_on_a_reminder_stops_the_rest(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    invitation = invite_by_email(app, session, merchant)
    run_due_jobs(app)
    smtp.mailbox.refuse.add("sam@example.org")  # the mailbox was closed since
    clock.advance(days=3)
    run_due_jobs(app)
    failed = reloaded(session, invitation)
    assert failed.delivery_status == "failed" and failed.delivery_error.startswith("email: 550")
    smtp.mailbox.refuse.clear()
    clock.advance(days=4)
    run_due_jobs(app)
    assert _reminders(smtp) == []


def test_reminder_jobs_are_queued_once_however_often_the_invitation_job_runs(
        app: Flask, session: Session, smtp: SmtpServer, clock: Clock,
        merchant: Merchant) -> None:
    invitation = invite_by_email(app, session, merchant)
    run_due_jobs(app)
    from portal.mandates.schedule import schedule_reminders

    schedule_reminders(session, reloaded(session, invitation), clock.now, [3, 7])
    session.commit()
    assert len(session.scalars(select(Job).where(Job.kind == "mail.reminder")).all()) == 2
