"""Console fixtures: a staff user (TOTP set up, as after enrolment) and a logged-in test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.adapters import get_adapters
from portal.clock import utcnow
from portal.console.models import StaffRole, StaffUser
from portal.console.service import create_staff
from portal.console.totp import SECRET_CONTEXT, new_recovery_codes
from portal.db import cipher_of, state
from portal.merchants.models import Merchant
from tests.conftest import migrated_database
from tests.seeded_template import SeededTemplates, module_templates
from tests.sign.driver import csrf_token

if TYPE_CHECKING:
    from tests.console.test_roles import World

PASSWORD = "correct horse battery staple"
#: Every test staff member's authenticator holds this secret.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass
class Staff:
    user: StaffUser
    email: str
    password: str
    #: Recovery codes not used yet by :func:`log_in`.
    recovery_codes: list[str] = field(default_factory=list)


def make_staff(session: Session, email: str = "support@example.org",
               password: str = PASSWORD, name: str = "Sophie Support", *,
               role: StaffRole = StaffRole.PLATFORM_ADMIN,
               merchants: list[Merchant] | None = None, totp: bool = True) -> Staff:
    """A staff member; with ``totp`` (the default) enrolled as the first login would leave it."""
    now = utcnow()
    user = create_staff(session, email=email, name=name, password=password, now=now, role=role,
                        merchants=merchants)
    codes = []
    if totp:
        user.totp_secret = cipher_of(session).encrypt(TOTP_SECRET, SECRET_CONTEXT)
        user.totp_enabled_at = now
        codes = new_recovery_codes(session, user, now=now)
    session.commit()
    return Staff(user, email, password, codes)


def totp_code(client: FlaskClient, email: str) -> str:
    """The authenticator's code for a time step the portal has not accepted yet (the one before,
    at or after now, as the portal allows for drift); '' when all three were used."""
    app = client.application
    totp = pyotp.TOTP(TOTP_SECRET)
    now = get_adapters(app).clock()
    with state(app).factory() as session:
        last = session.scalar(select(StaffUser.totp_last_step)
                              .where(StaffUser.email == email.lower()))
    current = totp.timecode(now)
    # Now's step first: the portal checks a moment later, perhaps a step on, and still takes it.
    for step in (current, current + 1, current - 1):
        if last is None or step > last:
            return totp.generate_otp(step)
    return ""


def log_in_password(client: FlaskClient, email: str, password: str, *,
                    path: str = "/console/login") -> TestResponse:
    """Only the password step."""
    token = csrf_token(client.get("/console/login"))
    return client.post(path, data={"csrf_token": token, "email": email, "password": password})


def enter_code(client: FlaskClient, code: str = "", recovery_code: str = "") -> TestResponse:
    token = csrf_token(client.get("/console/second-factor"))
    return client.post("/console/second-factor", data={"csrf_token": token, "code": code,
                                                       "recovery_code": recovery_code})


def log_in(client: FlaskClient, email: str, password: str, *, path: str = "/console/login",
           staff: Staff | None = None) -> TestResponse:
    """Password, then the TOTP code: the answer to the last step that was taken (the password
    step's when it did not lead to the second factor). When the three codes around now were
    used, a recovery code of ``staff`` stands in."""
    response = log_in_password(client, email, password, path=path)
    if response.status_code != 303 or not response.headers["Location"].endswith(
            "/console/second-factor"):
        return response
    code = totp_code(client, email)
    if not code and staff is not None and staff.recovery_codes:
        return enter_code(client, recovery_code=staff.recovery_codes.pop())
    return enter_code(client, code)


@pytest.fixture
def staff(session: Session) -> Staff:
    return make_staff(session)


@pytest.fixture
def console(app: Flask, staff: Staff) -> FlaskClient:
    """A browser of its own (apart from the customer's ``client``), logged in to the console."""
    client = app.test_client()
    response = log_in(client, staff.email, staff.password, staff=staff)
    assert response.status_code == 303, response.data[:300]
    return client


def _seed_world(app: Flask, session: Session) -> tuple[World, dict[str, tuple]]:
    from tests.console.test_roles import build_world  # it imports this module

    world = build_world(session)
    staff = {role: (s.user.public_id, s.email, s.password, list(s.recovery_codes))
             for role, s in world.staff.items()}
    return replace(world, staff={}), staff


@pytest.fixture(scope="module")
def worlds() -> Iterator[SeededTemplates]:
    """The two-merchant world of tests/console/test_roles.py (``build_world``), made once per
    module and backend and copied for each test that asks for ``world``."""
    yield from module_templates("world", _seed_world)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path,
                 worlds: SeededTemplates) -> str:
    """A copy of the world for tests that use it; the migrated template for the others."""
    if "world" in request.fixturenames:
        return worlds.copy(request, backend, tmp_path)
    return migrated_database(request, backend, tmp_path)


@pytest.fixture
def world(request: pytest.FixtureRequest, session: Session, backend: str,
          worlds: SeededTemplates) -> World:
    """The world, its staff loaded in this test's session (their recovery codes its own)."""
    seeded, staff = worlds.template(request, backend).seeded
    users = {user.public_id: user for user in session.scalars(select(StaffUser))}
    return replace(seeded, staff={
        role: Staff(users[public_id], email, password, list(codes))
        for role, (public_id, email, password, codes) in staff.items()})
