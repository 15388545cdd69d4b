"""Drives the checkout through the Flask test client, as a customer's browser would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.payments.links import make_checkout_token
from portal.payments.models import Payment, PaymentRequest
from portal.sandbox.models import SandboxPayment
from tests.sign.driver import csrf_token, local

FORM_TOKEN = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Checkout:
    app: Flask
    client: FlaskClient
    session: Session
    request: PaymentRequest

    @property
    def token(self) -> str:
        return make_checkout_token(self.request.public_id, self.app.config["SECRET_KEY"])

    @property
    def path(self) -> str:
        return f"/pay/{self.token}"

    def open(self, query: str = "") -> TestResponse:
        return self.client.get(self.path + query)

    def start(self, method: str = "ideal", **fields: Any) -> TestResponse:
        page = self.open()
        assert page.status_code == 200, page.data[:300]
        match = FORM_TOKEN.search(page.data)
        assert match, "checkout page has no form token"
        data = {"csrf_token": match.group(1).decode(), "method": method,
                **{k: v for k, v in fields.items() if v is not None}}
        return self.client.post(self.path, data=data)

    def pay(self, method: str = "ideal", outcome: str = "paid", *, card: str = "visa",
            payer_iban: str = "NL91 ABNA 0417 1643 00", follow: bool = True,
            **fields: Any) -> TestResponse:
        """Start a payment and settle it on the sandbox's page; returns the outcome page (or
        the sandbox's redirect to our return URL with ``follow=False``)."""
        started = self.start(method, **fields)
        assert started.status_code == 303, started.data[:500]
        checkout = local(started.headers["Location"])
        page = self.client.get(checkout)
        answer = self.client.post(checkout, data={
            "csrf_token": csrf_token(page), "issuer": "INGBNL2A", "outcome": outcome,
            "payer_name": "S. de Vries", "payer_iban": payer_iban, "card": card})
        assert answer.status_code == 303, answer.data[:500]
        if not follow:
            return answer
        return self.client.get(local(answer.headers["Location"]), follow_redirects=True)

    def payments(self) -> list[Payment]:
        self.session.expire_all()
        return list(self.session.scalars(select(Payment).where(
            Payment.request_id == self.request.id).order_by(Payment.id)))

    def sandbox_payment(self, payment: Payment) -> SandboxPayment:
        self.session.expire_all()
        return self.session.scalars(select(SandboxPayment).where(
            SandboxPayment.payment_id == payment.provider_payment_id)).one()

    def reload(self) -> PaymentRequest:
        self.session.expire_all()
        self.request = self.session.get(PaymentRequest, self.request.id)
        return self.request
