"""Reminders for unpaid requests on the injectable clock: the merchant's schedule around the due
date, by email and SMS, stopped when paid, withdrawn or expired, every message logged, and each
step sent once even with two workers at the same moment."""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.jobs.service import run_due_jobs
from portal.merchants.models import Merchant
from portal.payments.links import make_checkout_token
from portal.payments.models import MessageStatus, PaymentMessage, PaymentRequest
from portal.payments.reminders import ReminderScheduleError, validate_offsets
from portal.payments.service import record_external_payment, withdraw_payment_request
from tests.payments.conftest import START, Clock, event_types, events, make_request
from tests.reconfigure import reconfigure


def _outbox(app: Flask, suffix: str) -> list[Path]:
    folder = Path(app.instance_path) / "outbox"
    return sorted(folder.glob(f"*{suffix}")) if folder.exists() else []


def _log(session: Session, request: PaymentRequest) -> list[tuple[str, int | None, str, str]]:
    session.expire_all()
    rows = session.scalars(select(PaymentMessage).where(
        PaymentMessage.request_id == request.id).order_by(PaymentMessage.id))
    return [(r.kind, r.step, r.channel, r.status.value) for r in rows]


def _request(session: Session, merchant: Merchant, **overrides: object) -> PaymentRequest:
    from portal.payments.service import CustomerDetails

    fields = {"customer": CustomerDetails(name="Sam", email="sam@example.org",
                                          phone="+31612345678", locale="nl"),
              "channel": "email", "due_date": (START + timedelta(days=10)).date()}
    fields.update(overrides)
    return make_request(session, merchant, **fields)


def test_each_step_goes_out_on_its_day_by_email_and_sms_and_is_logged(
        app: Flask, session: Session, merchant: Merchant, clock: Clock) -> None:
    request = _request(session, merchant)
    run_due_jobs(app)
    assert _log(session, request) == [("request", None, "email", "sent")]
    clock.advance(days=7)  # 3 days before the due date, after 08:00
    run_due_jobs(app)
    assert _log(session, request)[1:] == [("reminder", 1, "email", "sent"),
                                          ("reminder", 1, "sms", "sent")]
    run_due_jobs(app)  # nothing more today
    assert len(_log(session, request)) == 3
    clock.advance(days=3)
    run_due_jobs(app)
    assert [row[:2] for row in _log(session, request)[3:]] == [("reminder", 2), ("reminder", 2)]
    sent = [e for e in events(session, request.public_id)
            if e.type == "payment_request.reminder_sent"]
    assert [(e.data["step"], e.data["channel"]) for e in sent] == [
        (1, "email"), (1, "sms"), (2, "email"), (2, "sms")]
    assert len(_outbox(app, ".eml")) == 3 and len(_outbox(app, ".sms.txt")) == 2
    texts = [p.read_text() for p in _outbox(app, ".sms.txt")]
    assert all("EUR 100.00" in t and "/s/" in t for t in texts)


def test_reminders_stop_the_moment_the_request_is_paid(
        app: Flask, session: Session, merchant: Merchant, clock: Clock) -> None:
    request = _request(session, merchant)
    run_due_jobs(app)
    record_external_payment(session, request, request.amount_cents, method=None,
                            reference=None, actor="t", now=clock.now)
    session.commit()
    clock.advance(days=30)
    run_due_jobs(app)
    assert _log(session, request) == [("request", None, "email", "sent")]
    assert event_types(session, request.public_id, prefix="payment_request.reminder") == []


def test_reminders_stop_when_withdrawn_or_expired(
        app: Flask, session: Session, merchant: Merchant, clock: Clock) -> None:
    withdrawn = _request(session, merchant)
    withdraw_payment_request(session, withdrawn, actor="t", now=clock.now)
    expiring = _request(session, merchant, expires_at=START + timedelta(days=8))
    session.commit()
    run_due_jobs(app)  # the request itself goes out (not the withdrawn one)
    clock.advance(days=20)
    run_due_jobs(app)
    assert _log(session, withdrawn) == []
    assert [row[0] for row in _log(session, expiring)] == ["request"]


def test_the_merchants_schedule_is_kept(app: Flask, session: Session, merchant: Merchant,
                                        clock: Clock) -> None:
    merchant.payment_reminder_days = [1]
    session.commit()
    request = _request(session, merchant, customer=__import__(
        "portal.payments.service", fromlist=["CustomerDetails"]).CustomerDetails(
            name="Sam", email="sam@example.org", locale="en"))
    clock.advance(days=9)
    run_due_jobs(app)
    assert [row[:2] for row in _log(session, request)] == [("request", None)]
    clock.advance(days=2)
    run_due_jobs(app)
    assert [row[:2] for row in _log(session, request)] == [("request", None), ("reminder", 1)]


def test_two_workers_at_once_send_each_step_once(app: Flask, session: Session,
                                                  merchant: Merchant, clock: Clock) -> None:
    requests = [_request(session, merchant) for _ in range(3)]
    clock.advance(days=21)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            run_due_jobs(app, worker=name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    for request in requests:
        log = _log(session, request)
        assert sorted(row[:3] for row in log) == sorted(
            [("request", None, "email")] + [("reminder", step, channel) for step in (1, 2, 3)
                                            for channel in ("email", "sms")])
        assert all(row[3] == "sent" for row in log)
    assert len(_outbox(app, ".eml")) == 3 * 4 and len(_outbox(app, ".sms.txt")) == 3 * 3


def test_a_step_claimed_by_one_worker_is_skipped_by_another(
        app: Flask, session: Session, merchant: Merchant) -> None:
    """Even when a job runs twice (a lease ran out), the message log keeps the step single."""
    from portal.payments.jobs import send_reminder

    request = _request(session, merchant)
    payload = {"payment_request": request.public_id, "kind": "reminder", "channel": "email",
               "step": 1}
    with app.app_context():
        send_reminder(session, payload)
        send_reminder(session, payload)
    assert _log(session, request) == [("reminder", 1, "email", "sent")]
    assert len(_outbox(app, ".eml")) == 1


def test_schedules_are_validated() -> None:
    assert validate_offsets([7, -3, 0, 0]) == [-3, 0, 7]
    for bad in ([100], [-31], [1, 2, 3, 4, 5, 6]):
        with pytest.raises(ReminderScheduleError):
            validate_offsets(bad)


def test_a_deferred_message_is_retried_and_then_sent(app: Flask, session: Session,
                                                     merchant: Merchant, clock: Clock) -> None:
    reconfigure(app, MAIL_TRANSPORT="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=9,
                SMTP_SECURITY="none", SMTP_TIMEOUT_SECONDS=0.5)
    request = _request(session, merchant)
    run_due_jobs(app)
    assert _log(session, request) == [("request", None, "email", "deferred")]
    reconfigure(app, MAIL_TRANSPORT="file")
    clock.advance(minutes=2)
    run_due_jobs(app)
    session.expire_all()
    row = session.scalars(select(PaymentMessage)).one()
    assert (row.status, row.attempts) == (MessageStatus.SENT, 2)


def test_a_reminder_offers_one_click_unsubscribe_and_no_reminder_follows_it(
        app: Flask, session: Session, merchant: Merchant, clock: Clock) -> None:
    request = _request(session, merchant)
    run_due_jobs(app)
    clock.advance(days=7)
    run_due_jobs(app)
    [first, reminder] = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                         for p in _outbox(app, ".eml")]
    assert "List-Unsubscribe" not in first  # the request itself is no reminder
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = reminder["List-Unsubscribe"].strip("<>")
    assert url in reminder.get_body(("plain",)).get_content()
    path = urlsplit(url).path
    client = app.test_client()
    page = client.get(path)  # a link scanner: nothing changes
    assert b'data-done="no"' in page.data and "betaling" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(PaymentRequest, request.id).reminders_unsubscribed_at is None
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # no cookie, no token
    assert done.status_code == 200 and b'data-done="yes"' in done.data
    session.expire_all()
    assert session.get(PaymentRequest, request.id).reminders_unsubscribed_at == clock.now
    clock.advance(days=3)
    run_due_jobs(app)
    assert [row[:3] for row in _log(session, request)] == [
        ("request", None, "email"), ("reminder", 1, "email"), ("reminder", 1, "sms")]
    token = make_checkout_token(request.public_id, app.config["SECRET_KEY"])
    assert client.get(f"/pay/{token}").status_code == 200  # the request itself still works
