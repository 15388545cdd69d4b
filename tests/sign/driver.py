"""Drives the signing journey through the Flask test client, as a customer's browser would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.mandates.links import make_invitation_token
from portal.mandates.models import Invitation, Mandate
from portal.verification.models import VerificationPayment

CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(response: TestResponse) -> str:
    match = CSRF.search(response.data)
    assert match, "page has no CSRF token"
    return match.group(1).decode()


def local(url: str) -> str:
    """Path and query of an absolute portal URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Journey:
    app: Flask
    client: FlaskClient
    session: Session
    invitation: Invitation

    @property
    def token(self) -> str:
        return make_invitation_token(self.invitation.public_id, self.invitation.expires_at,
                                     self.app.config["SECRET_KEY"])

    @property
    def path(self) -> str:
        return f"/sign/{self.token}"

    def open(self, **kwargs) -> TestResponse:
        return self.client.get(self.path, **kwargs)

    def submit(self, iban: str = "NL91 ABNA 0417 1643 00", *, name: str = "Sam de Vries",
               email: str = "sam@example.org", consent: bool = True,
               query: str = "") -> TestResponse:
        form = self.open()
        data = {"csrf_token": csrf_token(form), "name": name, "email": email, "iban": iban}
        if consent:
            data["consent"] = "y"
        return self.client.post(self.path + query, data=data)

    def pay(self, outcome: str = "paid", payer_iban: str = "",
            issuer: str = "INGBNL2A") -> TestResponse:
        """Submit the form, then settle the sandbox payment; returns the sandbox's redirect."""
        started = self.submit()
        assert started.status_code == 303, started.data[:400]
        checkout = local(started.headers["Location"])
        page = self.client.get(checkout)
        return self.client.post(checkout, data={
            "csrf_token": csrf_token(page), "issuer": issuer, "outcome": outcome,
            "payer_name": "S. de Vries", "payer_iban": payer_iban})

    def follow(self, response: TestResponse) -> TestResponse:
        return self.client.get(local(response.headers["Location"]), follow_redirects=True)

    def mandate(self) -> Mandate:
        self.session.expire_all()
        return self.session.get(Mandate, self.invitation.mandate_id)

    def payments(self) -> list[VerificationPayment]:
        self.session.expire_all()
        return list(self.session.scalars(select(VerificationPayment).where(
            VerificationPayment.mandate_id == self.invitation.mandate_id)
            .order_by(VerificationPayment.id)))
