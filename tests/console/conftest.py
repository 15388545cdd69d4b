"""Console fixtures: a staff user and a logged-in test client."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.clock import utcnow
from portal.console.models import StaffUser
from portal.console.service import create_staff
from tests.sign.driver import csrf_token

PASSWORD = "correct horse battery staple"


@dataclass
class Staff:
    user: StaffUser
    email: str
    password: str


def make_staff(session: Session, email: str = "support@example.org",
               password: str = PASSWORD, name: str = "Sophie Support") -> Staff:
    user = create_staff(session, email=email, name=name, password=password, now=utcnow())
    session.commit()
    return Staff(user, email, password)


def log_in(client: FlaskClient, email: str, password: str, *, path: str = "/console/login"
           ) -> TestResponse:
    token = csrf_token(client.get("/console/login"))
    return client.post(path, data={"csrf_token": token, "email": email, "password": password})


@pytest.fixture
def staff(session: Session) -> Staff:
    return make_staff(session)


@pytest.fixture
def console(app: Flask, staff: Staff) -> FlaskClient:
    """A browser of its own (apart from the customer's ``client``), logged in to the console."""
    client = app.test_client()
    response = log_in(client, staff.email, staff.password)
    assert response.status_code == 303, response.data[:300]
    return client
