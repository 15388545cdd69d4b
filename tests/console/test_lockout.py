"""Per-account lockout: many addresses guessing one account get locked out together, with a
delay that doubles after each further miss; every step is audited, and unknown names lock the
same way so a lock reveals nothing. The count is exact under concurrent attempts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.console.lockout import LockoutPolicy
from portal.console.models import LoginThrottle, StaffUser
from portal.console.passwords import default_passwords, passwords_of
from portal.console.service import authenticate
from portal.db import state
from tests.conftest import app_settings
from tests.console.conftest import Staff, enter_code, totp_code
from tests.sign.driver import csrf_token


def attempt(client: FlaskClient, email: str, password: str, address: str):
    token = csrf_token(client.get("/console/login", environ_base={"REMOTE_ADDR": address}))
    return client.post("/console/login", data={"csrf_token": token, "email": email,
                                               "password": password},
                       environ_base={"REMOTE_ADDR": address})


def audited(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.seq)))


@pytest.fixture
def limited_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Rate limits on, with their defaults: 5 login posts a minute per address."""
    app = create_app({**app_settings(database_url, tmp_path / "instance"),
                      "RATELIMIT_ENABLED": True})
    yield app
    state(app).engine.dispose()


def test_many_addresses_cannot_guess_one_account(limited_app: Flask, staff: Staff,
                                                 session: Session) -> None:
    """The probe: 20 wrong passwords from 4 addresses within a minute, then the right one from
    a fifth address. The address limit lets every one through; the account lock does not."""
    client = limited_app.test_client()
    responses = [attempt(client, staff.email, f"guess {n}", f"198.51.100.{n % 4 + 1}")
                 for n in range(20)]
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 15
    assert all(b"Too many failed logins" in r.data for r in responses[5:])  # not the limiter
    right = attempt(client, staff.email, staff.password, "198.51.100.99")
    assert right.status_code == 429 and b"Too many failed logins" in right.data
    assert 0 < int(right.headers["Retry-After"]) <= 60
    assert client.get("/console/").status_code == 302
    [lock] = audited(session, "console.login_locked")
    assert lock.subject == staff.user.public_id and lock.data["attempts"] == 5
    reasons = [e.data["reason"] for e in audited(session, "console.login")]
    assert reasons == ["wrong_password"] * 5 + ["locked"] * 16


def test_the_delay_doubles_after_each_miss_and_a_full_login_resets_it(
        app: Flask, client: FlaskClient, staff: Staff, session: Session) -> None:
    start = utcnow()
    app.config["CLOCK"] = lambda: start
    for n in range(5):
        assert attempt(client, staff.email, f"guess {n}", "192.0.2.1").status_code == 200
    locks = []
    at = start
    for _ in range(3):
        assert attempt(client, staff.email, staff.password, "192.0.2.1").status_code == 429
        row = session.scalars(select(LoginThrottle)).one()
        session.expire_all()
        locks.append(row.locked_until - at)
        at = row.locked_until
        app.config["CLOCK"] = lambda at=at: at  # the lock has just run out: one more try
        assert attempt(client, staff.email, "wrong again", "192.0.2.1").status_code == 200
    assert locks == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    app.config["CLOCK"] = lambda: at + timedelta(minutes=8)
    assert attempt(client, staff.email, staff.password, "192.0.2.1").status_code == 303
    session.expire_all()
    [row] = session.scalars(select(LoginThrottle)).all()  # the password alone clears no count
    assert row.locked_until is None and row.attempts == 9
    assert enter_code(client, totp_code(client, staff.email)).status_code == 303
    session.expire_all()
    assert session.scalars(select(LoginThrottle)).all() == []  # the count starts over


def test_an_unknown_name_locks_like_a_real_one(client: FlaskClient, staff: Staff,
                                               session: Session) -> None:
    for name in ("nobody@example.org", staff.email):
        responses = [attempt(client, name, "guess", "192.0.2.1") for _ in range(6)]
        assert [r.status_code for r in responses] == [200] * 5 + [429]
        assert b"Too many failed logins" in responses[-1].data
    subjects = [e.subject for e in audited(session, "console.login_locked")]
    assert subjects == ["stf_unknown", staff.user.public_id]
    stored = session.scalars(select(LoginThrottle.account)).all()
    assert "nobody@example.org" not in str(stored)  # only keyed hashes of what was typed


def test_concurrent_guesses_are_counted_exactly(app: Flask, staff: Staff,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve guesses at once: exactly five passwords are checked, the rest are refused."""
    checked: list[str] = []
    with state(app).factory() as db:
        app_passwords = passwords_of(db)
        # A hash at production cost (~40 ms per check), so the guesses overlap as they would.
        user = db.get(StaffUser, staff.user.id)
        user.password_hash = default_passwords().hash(staff.password)
        db.commit()
    original = app_passwords.check
    monkeypatch.setattr(app_passwords, "check",
                        lambda stored, given: checked.append(given) or original(stored, given))
    policy = LockoutPolicy(after=5)
    barrier, results, errors = threading.Barrier(12), [], []

    def guess(n: int) -> None:
        try:
            with app.app_context(), state(app).factory() as db:
                barrier.wait()
                result = authenticate(db, staff.email, f"guess {n}", now=utcnow(), ip=None,
                                      lockout=policy)
                db.commit()
                results.append(result)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(checked) == 5
    assert sum(result.locked_until is not None for result in results) == 7
