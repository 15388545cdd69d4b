"""Console sessions live on the server: a copied cookie stops working after logout, after the
staff member is disabled and after a password change; sessions also end after an absolute
lifetime however busy they are."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.console.models import ConsoleSession
from portal.console.service import disable_staff
from tests.console.conftest import PASSWORD, Staff, log_in, totp_code
from tests.sign.driver import csrf_token

NEW_PASSWORD = "a much better passphrase"


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``browser``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def signed_in(client: FlaskClient) -> bool:
    return client.get("/console/").status_code == 200


#: Sessions that got past the second factor (each login's password step has its own, ended).
FULL = ConsoleSession.second_factor_at.is_not(None)


def test_a_copied_cookie_stops_working_after_logout(app: Flask, console: FlaskClient,
                                                    session: Session) -> None:
    thief = copy_of(app, console)
    assert signed_in(thief)  # the copy works as long as the session does
    token = csrf_token(console.get("/console/"))
    assert console.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert not signed_in(thief)
    assert not signed_in(console)
    ended = session.scalars(select(ConsoleSession).where(FULL)).one()
    assert ended.end_reason == "logout" and ended.ended_at is not None
    assert session.scalars(select(AuditEvent.action)).all()[-1] == "console.logout"


def test_a_copied_cookie_stops_working_when_the_staff_member_is_disabled(
        app: Flask, console: FlaskClient, staff: Staff, session: Session) -> None:
    other_browser = app.test_client()
    log_in(other_browser, staff.email, staff.password)
    thief = copy_of(app, console)
    disable_staff(session, staff.email, now=utcnow())
    session.commit()
    assert not signed_in(thief) and not signed_in(other_browser)
    reasons = session.scalars(select(ConsoleSession.end_reason).where(FULL)).all()
    assert reasons == ["staff_disabled", "staff_disabled"]


def test_a_copied_cookie_stops_working_after_a_password_change(
        app: Flask, console: FlaskClient, staff: Staff, session: Session) -> None:
    other_browser = app.test_client()
    log_in(other_browser, staff.email, staff.password, staff=staff)
    thief = copy_of(app, console)
    page = console.get("/console/password")
    response = console.post("/console/password", data={
        "csrf_token": csrf_token(page), "current_password": PASSWORD,
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert signed_in(console)  # the browser that changed it got a new session
    assert not signed_in(thief) and not signed_in(other_browser)
    assert log_in(app.test_client(), staff.email, PASSWORD).status_code == 200
    assert log_in(app.test_client(), staff.email, NEW_PASSWORD, staff=staff).status_code == 303


def test_the_cli_password_reset_ends_every_session(app: Flask, console: FlaskClient,
                                                   staff: Staff, runner) -> None:
    thief = copy_of(app, console)
    result = runner.invoke(args=["staff", "set-password", staff.email, "--password-stdin"],
                           input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert not signed_in(thief) and not signed_in(console)
    short = runner.invoke(args=["staff", "set-password", staff.email, "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output


def test_a_wrong_current_password_changes_nothing(console: FlaskClient, staff: Staff,
                                                  session: Session) -> None:
    page = console.get("/console/password")
    response = console.post("/console/password", data={
        "csrf_token": csrf_token(page), "current_password": "not it at all",
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422 and b"current password is incorrect" in response.data
    mismatch = console.post("/console/password", data={
        "csrf_token": csrf_token(page), "current_password": PASSWORD,
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 422 and b"The new passwords differ." in mismatch.data
    assert signed_in(console)
    assert session.scalars(select(ConsoleSession.ended_at).where(FULL)).all() == [None]


def test_a_busy_session_still_ends_at_its_absolute_lifetime(app: Flask,
                                                            console: FlaskClient) -> None:
    start = utcnow()
    for minutes in range(0, 12 * 60, 25):  # a request every 25 minutes, never idle
        app.config["CLOCK"] = lambda m=minutes: start + timedelta(minutes=m)
        assert signed_in(console), minutes
    app.config["CLOCK"] = lambda: start + timedelta(hours=12, minutes=1)
    assert not signed_in(console)


def test_the_session_records_where_it_came_from(app: Flask, staff: Staff,
                                                session: Session) -> None:
    client = app.test_client()
    where = {"headers": {"User-Agent": "Firefox/140"},
             "environ_base": {"REMOTE_ADDR": "192.0.2.8"}}
    token = csrf_token(client.get("/console/login"))
    client.post("/console/login", data={"csrf_token": token, "email": staff.email,
                                        "password": staff.password}, **where)
    pending = session.scalars(select(ConsoleSession)).one()
    assert pending.second_factor_at is None and pending.method == "password"
    assert pending.expires_at - pending.created_at == timedelta(minutes=10)  # only for the code
    token = csrf_token(client.get("/console/second-factor"))
    client.post("/console/second-factor", data={"csrf_token": token,
                                                "code": totp_code(client, staff.email)}, **where)
    session.expire_all()
    record = session.scalars(select(ConsoleSession).where(FULL)).one()
    assert (record.ip, record.user_agent) == ("192.0.2.8", "Firefox/140")
    assert record.public_id.startswith("ses_") and record.staff_user_id == staff.user.id
    assert record.expires_at - record.created_at == timedelta(hours=12)
    assert record.second_factor_at == record.created_at
    assert session.get(ConsoleSession, pending.id).end_reason == "second_factor"
