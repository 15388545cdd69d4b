"""The sandbox payment provider: a built-in iDEAL stand-in so the whole journey works offline."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from portal.clock import now as clock_now
from portal.crypto import FieldCipher
from portal.db import cipher_of
from portal.providers.base import (
    PaymentNotFound,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderPayment,
)
from portal.sandbox.models import SandboxPayment

#: Associated data of the payer IBAN's ciphertext.
PAYER_IBAN_CONTEXT = "sandbox_payment.payer_iban"
PAYMENT_ID = re.compile(r"tr_sbx[A-Za-z0-9]{10,30}")  # whole value: always fullmatch

#: Fake iDEAL issuers shown on the sandbox bank-choice page: (id, name, BIC).
ISSUERS: tuple[tuple[str, str, str], ...] = (
    ("ABNANL2A", "ABN AMRO", "ABNANL2A"),
    ("INGBNL2A", "ING", "INGBNL2A"),
    ("RABONL2U", "Rabobank", "RABONL2U"),
    ("SNSBNL2A", "SNS", "SNSBNL2A"),
    ("ASNBNL21", "ASN Bank", "ASNBNL21"),
    ("BUNQNL2A", "bunq", "BUNQNL2A"),
    ("TRIONL2U", "Triodos Bank", "TRIONL2U"),
    ("KNABNL2H", "Knab", "KNABNL2H"),
)


class SandboxProvider:
    """Keeps payments in the portal's own database; its checkout pages live under ``/sandbox``."""

    name = "sandbox"

    def __init__(self, session: Session, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        payment = SandboxPayment(
            payment_id="tr_sbx" + secrets.token_hex(8),
            amount_cents=request.amount_cents, currency=request.currency,
            description=request.description[:140], redirect_url=request.redirect_url,
            webhook_url=request.webhook_url, metadata_=dict(request.metadata),
            customer_name=request.customer_name, locale=request.locale,
            status=PaymentStatus.OPEN, created_at=clock_now(),
        )
        self.session.add(payment)
        self.session.flush()
        return self._view(payment)

    def get_payment(self, payment_id: str) -> ProviderPayment:
        return self._view(self.find(payment_id))

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        payment_id = form.get("id", "")
        if not PAYMENT_ID.fullmatch(payment_id):
            raise ProviderError("webhook without a valid sandbox payment id", status=400)
        return payment_id

    def find(self, payment_id: str) -> SandboxPayment:
        payment = None
        if PAYMENT_ID.fullmatch(payment_id):
            payment = self.session.scalar(
                select(SandboxPayment).where(SandboxPayment.payment_id == payment_id))
        if payment is None:
            raise PaymentNotFound(f"no sandbox payment {payment_id!r}")
        return payment

    def checkout_url(self, payment_id: str) -> str:
        return f"{self.base_url}/sandbox/checkout/{payment_id}"

    def _view(self, payment: SandboxPayment) -> ProviderPayment:
        payable = payment.status == PaymentStatus.OPEN
        return ProviderPayment(
            id=payment.payment_id, status=payment.status, amount_cents=payment.amount_cents,
            currency=payment.currency,
            checkout_url=self.checkout_url(payment.payment_id) if payable else None,
            payer_name=payment.payer_name, payer_iban=payer_iban(payment),
            payer_bic=payment.payer_bic, provider_mandate_id=payment.mandate_id,
            provider_customer_id=None, metadata=dict(payment.metadata_),
        )


def complete_sandbox_payment(
    payment: SandboxPayment, outcome: PaymentStatus, *, issuer: str | None,
    payer_name: str | None, payer_iban: str | None,
) -> None:
    """Settle an open sandbox payment as the tester chose; a settled one does not change."""
    if payment.status != PaymentStatus.OPEN:
        raise ProviderError("this sandbox payment is no longer open", status=409)
    payment.status = outcome
    payment.issuer = issuer
    if outcome == PaymentStatus.PAID:
        bic = {i: b for i, _, b in ISSUERS}.get(issuer or "")
        payment.payer_name, payment.payer_bic = payer_name, bic
        payment.payer_iban_ciphertext = _cipher(payment).encrypt(
            payer_iban, PAYER_IBAN_CONTEXT) if payer_iban else None
        payment.mandate_id = "mdt_sbx" + secrets.token_hex(6)


def payer_iban(payment: SandboxPayment) -> str | None:
    """The IBAN a settled sandbox payment was paid from, decrypted."""
    if payment.payer_iban_ciphertext is None:
        return None
    return _cipher(payment).decrypt(payment.payer_iban_ciphertext, PAYER_IBAN_CONTEXT)


def _cipher(payment: SandboxPayment) -> FieldCipher:
    session = object_session(payment)
    if session is None:
        raise ValueError("a sandbox payment outside a session has no cipher")
    return cipher_of(session)
