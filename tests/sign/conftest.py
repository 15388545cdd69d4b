"""Fixtures for the signing journey."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import make_invitation
from tests.sign.driver import Journey


@pytest.fixture
def journey(app: Flask, client: FlaskClient, session: Session) -> Journey:
    invitation = make_invitation(session)
    session.commit()
    return Journey(app, client, session, invitation)
