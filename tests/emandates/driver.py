"""A debtor's browser over real HTTP: the signing page, the sandbox bank's page, the way back.
The portal calls the sandbox bank over HTTP on its own address, so everything is real iDx."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from flask import Flask
from sqlalchemy import select

from portal.db import state
from portal.emandates.models import BankTransaction
from portal.events.models import Event
from portal.mandates.links import make_invitation_token
from portal.mandates.models import Invitation, Mandate
from tests.banks.conftest import decide_at_bank

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Debtor:
    app: Flask
    base_url: str
    invitation: Invitation
    browser: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=20))

    @property
    def path(self) -> str:
        token = make_invitation_token(self.invitation.public_id, self.invitation.expires_at,
                                      self.app.config["SECRET_KEY"])
        return f"{self.base_url}/sign/{token}"

    def open(self) -> httpx.Response:
        return self.browser.get(self.path + "?lang=en")

    def submit(self, bank: str | None = "INGBNL2A", iban: str = "", *,
               method: str = "bank_emandate") -> httpx.Response:
        page = self.open()
        assert page.status_code == 200, page.text[:500]
        data = {"csrf_token": CSRF.search(page.text).group(1), "name": "De Vries Holding",
                "email": "finance@devries.example", "iban": iban, "method": method,
                "consent": "y"}
        if bank is not None:
            data["debtor_bank"] = bank
        return self.browser.post(self.path, data=data)

    def go_to_bank(self, bank: str = "INGBNL2A", iban: str = "") -> str:
        started = self.submit(bank, iban)
        assert started.status_code == 303, started.text[:800]
        url = started.headers["location"]
        assert "/sandbox-bank/authorise/" in url
        return url

    def decide(self, url: str, decision: str, iban: str | None = None) -> str:
        back = decide_at_bank(url, decision, iban=iban)
        assert back.status_code == 303, back.text[:500]
        return back.headers["location"]

    def come_back(self, return_url: str) -> httpx.Response:
        """Follow the bank's redirect back, then the portal's own redirects."""
        assert urlsplit(return_url).path.endswith("/return")
        return self.browser.get(return_url, follow_redirects=True)

    def status(self) -> dict:
        return self.browser.get(self.path + "/status").json()

    def mandate(self) -> Mandate:
        with state(self.app).factory() as session:
            mandate = session.get(Mandate, self.invitation.mandate_id)
            session.expunge(mandate)
            return mandate

    def events(self) -> list[str]:
        with state(self.app).factory() as session:
            mandate = session.get(Mandate, self.invitation.mandate_id)
            return list(session.scalars(select(Event.type).where(
                Event.subject == mandate.public_id).order_by(Event.id)))

    def transactions(self) -> list[BankTransaction]:
        with state(self.app).factory() as session:
            rows = list(session.scalars(select(BankTransaction).where(
                BankTransaction.mandate_id == self.invitation.mandate_id)
                .order_by(BankTransaction.id)))
            for row in rows:
                session.expunge(row)
            return rows
