"""Console login: who gets in, what everyone else sees, and how a login ends."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from portal import create_app
from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.console import passwords
from portal.console.models import ConsoleSession, StaffUser
from portal.console.service import disable_staff
from portal.db import state
from tests.conftest import CHEAP_PASSWORD_HASHES, app_settings
from tests.console.conftest import Staff, log_in, make_staff
from tests.sign.driver import csrf_token

MESSAGE = b"Email or password is incorrect."


def error_of(response) -> bytes:
    match = re.search(rb'id="login-error"[^>]*>([^<]*)<', response.data)
    assert match, response.data[:500]
    return match.group(1)


def test_unknown_email_still_checks_a_hash(client: FlaskClient, session: Session,
                                           monkeypatch) -> None:
    """Timing: a miss costs one password hash check, as a wrong password does, under the
    app's own parameters."""
    checked = []
    app_passwords = passwords.passwords_of(session)
    hasher = app_passwords.hasher

    class Spy:
        def verify(self, stored: str, given: str) -> bool:
            checked.append(stored)
            return hasher.verify(stored, given)

    monkeypatch.setattr(app_passwords, "hasher", Spy())
    log_in(client, "nobody@example.org", "whatever")
    assert checked == [app_passwords.dummy_hash]
    assert not hasher.check_needs_rehash(app_passwords.dummy_hash)


def logins(session: Session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "console.login")
                                .order_by(AuditEvent.seq)))


def test_right_password_logs_in_and_is_audited(client: FlaskClient, staff: Staff,
                                               session: Session) -> None:
    response = log_in(client, staff.email.upper(), staff.password)
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and b"Sophie Support" in page.data
    [event] = logins(session)
    assert event.subject == staff.user.public_id and event.subject.startswith("stf_")
    assert event.data["outcome"] == "success"
    session.refresh(staff.user)
    assert staff.user.last_login_at is not None


def test_wrong_password_and_unknown_email_look_the_same(client: FlaskClient, staff: Staff,
                                                         session: Session) -> None:
    wrong = log_in(client, staff.email, "not the password")
    unknown = log_in(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 200
    assert error_of(wrong) == error_of(unknown) == MESSAGE
    assert client.get("/console/").status_code == 302
    assert [(e.data["outcome"], e.data["reason"]) for e in logins(session)] == [
        ("failure", "wrong_password"), ("failure", "unknown_email")]
    # Whatever was typed stays out of the append-only trail.
    assert all("nobody@example.org" not in str(e.data) for e in logins(session))


def test_disabled_staff_cannot_log_in(client: FlaskClient, staff: Staff,
                                      session: Session) -> None:
    disable_staff(session, staff.email, now=utcnow())
    session.commit()
    response = log_in(client, staff.email, staff.password)
    assert response.status_code == 200 and MESSAGE in response.data
    assert logins(session)[-1].data["reason"] == "disabled"


def test_disabling_ends_an_open_login(console: FlaskClient, staff: Staff,
                                      session: Session) -> None:
    assert console.get("/console/").status_code == 200
    disable_staff(session, staff.email, now=utcnow())
    session.commit()
    assert console.get("/console/").status_code == 302


def test_login_needs_the_csrf_token(client: FlaskClient, staff: Staff) -> None:
    response = client.post("/console/login", data={"email": staff.email,
                                                   "password": staff.password})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_empty_form_gets_the_generic_message(client: FlaskClient) -> None:
    token = csrf_token(client.get("/console/login"))
    response = client.post("/console/login", data={"csrf_token": token})
    assert response.status_code == 200 and MESSAGE in response.data


def test_pages_redirect_to_login(client: FlaskClient) -> None:
    for path in ("/console/", "/console/?q=x", "/console/mandates/md_0123456789abcdef",
                 "/console/mandates/md_0123456789abcdef/pdf"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/console/login?next=")


def test_login_returns_to_the_page_asked_for(client: FlaskClient, staff: Staff) -> None:
    target = client.get("/console/?q=abc").headers["Location"]
    response = log_in(client, staff.email, staff.password, path=target)
    assert response.headers["Location"] == "/console/?q=abc"


def test_login_never_redirects_off_the_console(client: FlaskClient, staff: Staff) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/sign/x"):
        response = log_in(client, staff.email, staff.password,
                          path=f"/console/login?next={target}", staff=staff)
        assert response.headers["Location"] == "/console/"


def test_an_unsafe_next_falls_back_to_the_console_home(app: Flask, staff: Staff) -> None:
    """A CR/LF in ``next`` once gave a 500 after a successful login (a header injection try)."""
    for target in ("/console/%0D%0ASet-Cookie:x=1", "/console/%0Ax", "/console/%00",
                   "/console/a%20b", "/console/%C3%A9", "/console/%5C%5Cevil.example"):
        client = app.test_client()
        response = log_in(client, staff.email, staff.password,
                          path=f"/console/login?next={target}", staff=staff)
        assert response.status_code == 303, target
        assert response.headers["Location"] == "/console/", target
        assert "Set-Cookie" not in response.headers.get("Location", "")


def test_logout_ends_the_login(console: FlaskClient) -> None:
    page = console.get("/console/")
    response = console.post("/console/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert console.get("/console/").status_code == 302


def test_logout_needs_the_csrf_token(console: FlaskClient) -> None:
    assert console.post("/console/logout").status_code == 400
    assert console.get("/console/").status_code == 200


def test_login_starts_a_fresh_session(client: FlaskClient, staff: Staff) -> None:
    with client.session_transaction() as flask_session:
        flask_session["planted"] = "by an attacker"
    log_in(client, staff.email, staff.password)
    with client.session_transaction() as flask_session:
        assert "planted" not in flask_session
        assert set(flask_session) - {"_permanent"} == {"console_session"}  # the rest is on the server
        assert flask_session.permanent


def test_each_login_gets_its_own_session_token(app: Flask, staff: Staff,
                                                session: Session) -> None:
    tokens = []
    for _ in range(2):
        client = app.test_client()
        log_in(client, staff.email, staff.password)
        with client.session_transaction() as flask_session:
            tokens.append(flask_session["console_session"])
    assert tokens[0] != tokens[1] and len(tokens[0]) >= 40
    stored = session.scalars(select(ConsoleSession.token_sha256)).all()
    assert len(stored) == 4 and not set(tokens) & set(stored)  # only digests are kept
    # (each login: one session for the password step, a fresh one after the code)


def test_idle_login_expires(app: Flask, console: FlaskClient) -> None:
    start = utcnow()
    app.config["CLOCK"] = lambda: start
    assert console.get("/console/").status_code == 200
    app.config["CLOCK"] = lambda: start + timedelta(minutes=29)
    assert console.get("/console/").status_code == 200  # each request renews the idle time
    app.config["CLOCK"] = lambda: start + timedelta(minutes=29 + 31)
    assert console.get("/console/").status_code == 302


def test_passwords_are_stored_as_argon2id_hashes_with_owasp_parameters(
        database_url: str, tmp_path: Path) -> None:
    """An app on the default settings (the suite's ``app`` fixture lowers them to save time)."""
    app = create_app(app_settings(database_url, tmp_path / "instance"))
    try:
        with state(app).factory() as session:
            staff = make_staff(session, email="other@example.org")
            stored = session.scalar(select(StaffUser).where(StaffUser.id == staff.user.id))
            assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
            assert staff.password not in stored.password_hash
            assert passwords.passwords_of(session).dummy_hash.startswith(
                "$argon2id$v=19$m=19456,t=2,p=1$")
    finally:
        state(app).dispose()


def test_production_refuses_weaker_argon2_parameters(database_url: str, tmp_path: Path) -> None:
    for lowered in ({"CONSOLE_ARGON2_TIME_COST": 1}, {"CONSOLE_ARGON2_MEMORY_KIB": 8},
                    CHEAP_PASSWORD_HASHES):
        problems: list[str] = []
        state(create_app({**app_settings(database_url, tmp_path / "instance"),
                          "ENV": "production", **lowered}, problems=problems)).dispose()
        assert any("PORTAL_CONSOLE_ARGON2_TIME_COST" in p for p in problems), lowered
    problems = []
    state(create_app({**app_settings(database_url, tmp_path / "instance"), "ENV": "production"},
                     problems=problems)).dispose()
    assert not any("ARGON2" in p for p in problems)


def test_a_hash_under_other_parameters_is_replaced_at_login(client: FlaskClient, staff: Staff,
                                                            session: Session) -> None:
    stored = session.get(StaffUser, staff.user.id)
    stored.password_hash = passwords.Passwords().hash(staff.password)  # production's
    session.commit()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    session.expire_all()
    assert session.get(StaffUser, staff.user.id).password_hash.startswith(
        "$argon2id$v=19$m=8,t=1,p=1$")


def test_an_older_scrypt_hash_still_logs_in_and_is_replaced(client: FlaskClient, staff: Staff,
                                                            session: Session) -> None:
    """Accounts made before Argon2id keep working; their hash is upgraded at the next login."""
    stored = session.get(StaffUser, staff.user.id)
    stored.password_hash = generate_password_hash(staff.password, method="scrypt")
    session.commit()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    session.expire_all()
    assert session.get(StaffUser, staff.user.id).password_hash.startswith("$argon2id$")
