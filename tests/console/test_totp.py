"""The second factor: TOTP enrolment at the first login (QR code, recovery codes shown once), a
code at every later one, a wrong code, a replayed code, lock-out, recovery codes used once, and
the secret encrypted at rest."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.console.models import ConsoleSession, LoginThrottle, RecoveryCode, StaffUser
from tests.console.conftest import (
    TOTP_SECRET,
    Staff,
    enter_code,
    log_in_password,
    make_staff,
)
from tests.sign.driver import csrf_token


def signed_in(client: FlaskClient) -> bool:
    return client.get("/console/").status_code == 200


def code_at(app: Flask, offset_steps: int = 0, secret: str = TOTP_SECRET) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(app.config["CLOCK"]()) + offset_steps)


def freeze(app: Flask):
    now = utcnow()
    app.config["CLOCK"] = lambda: now
    return now


def second_factor_audit(session: Session) -> list[dict]:
    session.expire_all()
    return [event.data for event in session.scalars(
        select(AuditEvent).where(AuditEvent.action == "console.second_factor")
        .order_by(AuditEvent.seq))]


def test_the_first_login_enrols_totp_and_shows_recovery_codes_once(
        app: Flask, client: FlaskClient, session: Session) -> None:
    """The first platform admin, made from the CLI, signs in: QR code, a code, ten codes."""
    freeze(app)
    staff = make_staff(session, email="first@example.org", totp=False)
    response = log_in_password(client, staff.email, staff.password)
    assert response.headers["Location"] == "/console/second-factor"
    assert client.get("/console/").headers["Location"] == "/console/second-factor"  # nothing else
    page = client.get("/console/second-factor")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Set up your second factor" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert '<svg' in html and 'id="totp-qr"' in html
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    again = client.get("/console/second-factor").get_data(as_text=True)
    assert secret in again  # a reload keeps the secret an app may have scanned already
    stored = session.scalar(text("SELECT totp_secret FROM staff_user WHERE email = :e"),
                            {"e": staff.email})
    assert stored.startswith("v1.") and secret not in stored  # encrypted with the data key

    wrong = enter_code(client, "000000" if code_at(app, secret=secret) != "000000" else "111111")
    assert wrong.status_code == 422 and not signed_in(client)
    done = enter_code(client, code_at(app, secret=secret))
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li>([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})</li>", done.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert signed_in(client)
    session.expire_all()
    user = session.get(StaffUser, staff.user.id)
    assert user.totp_enabled_at is not None and user.last_login_at is not None
    hashes = session.scalars(select(RecoveryCode.code_sha256)
                             .where(RecoveryCode.staff_user_id == user.id)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    assert not any(code in str(second_factor_audit(session)) for code in codes)
    assert [(d["outcome"], d["enrolment"]) for d in second_factor_audit(session)] == [
        ("failure", True), ("success", True)]
    # Later logins ask for a code, and show no secret.
    other = app.test_client()
    log_in_password(other, staff.email, staff.password)
    page = other.get("/console/second-factor").get_data(as_text=True)
    assert "Enter your code" in page and secret not in page and "<svg" not in page


def test_a_code_signs_in(app: Flask, client: FlaskClient, staff: Staff) -> None:
    freeze(app)
    log_in_password(client, staff.email, staff.password)
    assert not signed_in(client)
    response = enter_code(client, code_at(app))
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    assert signed_in(client)


def test_a_wrong_code_is_refused(app: Flask, client: FlaskClient, staff: Staff,
                                 session: Session) -> None:
    freeze(app)
    log_in_password(client, staff.email, staff.password)
    for wrong in (code_at(app, 5), "12345", "abcdef"):  # with the password: 4 attempts of 5
        response = enter_code(client, wrong)
        assert response.status_code == 422 and b"not right" in response.data, wrong
    assert not signed_in(client)
    assert enter_code(client, code_at(app)).status_code == 303


def test_a_replayed_code_is_refused(app: Flask, staff: Staff, session: Session) -> None:
    """The code just used, typed again in another browser within its 30 seconds: refused; so is
    an older one still inside the drift window."""
    freeze(app)
    first = app.test_client()
    log_in_password(first, staff.email, staff.password)
    assert enter_code(first, code_at(app)).status_code == 303
    thief = app.test_client()
    log_in_password(thief, staff.email, staff.password)
    assert enter_code(thief, code_at(app)).status_code == 422
    assert enter_code(thief, code_at(app, -1)).status_code == 422  # older than the last used
    assert not signed_in(thief)
    assert enter_code(thief, code_at(app, 1)).status_code == 303  # the next step's code works
    session.expire_all()
    user = session.get(StaffUser, staff.user.id)
    assert user.totp_last_step == pyotp.TOTP(TOTP_SECRET).timecode(app.config["CLOCK"]()) + 1


def test_wrong_codes_lock_the_account_and_end_the_login(app: Flask, client: FlaskClient,
                                                        staff: Staff, session: Session) -> None:
    """The password step and the codes count together: four wrong codes after the password make
    five attempts, and the account is locked (the same lockout as for passwords)."""
    start = freeze(app)
    log_in_password(client, staff.email, staff.password)
    responses = [enter_code(client, code_at(app, 10 + n)) for n in range(4)]
    assert [r.status_code for r in responses] == [422, 422, 422, 429]
    assert b"Too many failed logins" in responses[-1].data
    assert 0 < int(responses[-1].headers["Retry-After"]) <= 60
    assert client.get("/console/second-factor").status_code == 302  # the login has ended
    session.expire_all()
    ended = session.scalars(select(ConsoleSession)).one()
    assert ended.end_reason == "locked"
    # While locked, even the right password and code do not get in.
    again = app.test_client()
    assert log_in_password(again, staff.email, staff.password).status_code == 429
    locks = session.scalars(select(AuditEvent).where(AuditEvent.action == "console.login_locked")
                            ).all()
    assert len(locks) == 1 and locks[0].subject == staff.user.public_id
    # After the lock, a right password and a right code sign in and clear the count.
    app.config["CLOCK"] = lambda: start + timedelta(minutes=2)
    assert log_in_password(again, staff.email, staff.password).status_code == 303
    assert enter_code(again, code_at(app)).status_code == 303
    assert signed_in(again)
    session.expire_all()
    assert session.scalars(select(LoginThrottle)).all() == []


def test_a_login_waits_only_minutes_for_its_code(app: Flask, client: FlaskClient,
                                                 staff: Staff) -> None:
    start = freeze(app)
    log_in_password(client, staff.email, staff.password)
    app.config["CLOCK"] = lambda: start + timedelta(minutes=11)
    assert client.get("/console/second-factor").status_code == 302


def test_each_recovery_code_works_once(app: Flask, staff: Staff, session: Session) -> None:
    freeze(app)
    code = staff.recovery_codes[0]
    first = app.test_client()
    log_in_password(first, staff.email, staff.password)
    assert enter_code(first, recovery_code=code.lower()).status_code == 303  # as typed
    assert signed_in(first)
    second = app.test_client()
    log_in_password(second, staff.email, staff.password)
    assert enter_code(second, recovery_code=code).status_code == 422
    assert not signed_in(second)
    assert enter_code(second, recovery_code=staff.recovery_codes[1]).status_code == 303
    session.expire_all()
    used = session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all()
    assert len(used) == 2
    assert [d["method"] for d in second_factor_audit(session)] == ["recovery_code"] * 3


def test_the_second_factor_page_needs_csrf(app: Flask, client: FlaskClient,
                                           staff: Staff) -> None:
    freeze(app)
    log_in_password(client, staff.email, staff.password)
    assert client.post("/console/second-factor", data={"code": code_at(app)}).status_code == 400
    assert not signed_in(client)
    token = csrf_token(client.get("/console/second-factor"))
    assert client.post("/console/second-factor", data={
        "csrf_token": token, "code": code_at(app)}).status_code == 303
