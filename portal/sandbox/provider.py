"""The sandbox payment provider: a built-in iDEAL stand-in so the whole journey works offline."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import Clock
from portal.providers.base import (
    PaymentNotFound,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderPayment,
)
from portal.sandbox.models import SandboxPayment

PAYMENT_ID = re.compile(r"^tr_sbx[A-Za-z0-9]{10,30}$")

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
    """Keeps payments in the portal's own database; its checkout pages live under ``/sandbox``.

    Made once per app: ``session`` returns the session of the current unit of work, so a
    sandbox payment commits or rolls back with the verification that created it (on SQLite a
    second transaction would wait for the first one's write lock)."""

    name = "sandbox"

    def __init__(self, base_url: str, *, session: Callable[[], Session], clock: Clock) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.clock = clock

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        payment = SandboxPayment(
            payment_id="tr_sbx" + secrets.token_hex(8),
            amount_cents=request.amount_cents, currency=request.currency,
            description=request.description[:140], redirect_url=request.redirect_url,
            webhook_url=request.webhook_url, metadata_=dict(request.metadata),
            customer_name=request.customer_name, locale=request.locale,
            status=PaymentStatus.OPEN, created_at=self.clock(),
        )
        session = self.session()
        session.add(payment)
        session.flush()
        return self._view(payment)

    def get_payment(self, payment_id: str) -> ProviderPayment:
        payment = find_sandbox_payment(self.session(), payment_id)
        if payment is None:
            raise PaymentNotFound(f"no sandbox payment {payment_id!r}")
        return self._view(payment)

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        payment_id = form.get("id", "")
        if not PAYMENT_ID.match(payment_id):
            raise ProviderError("webhook without a valid sandbox payment id", status=400)
        return payment_id

    def checkout_url(self, payment_id: str) -> str:
        return f"{self.base_url}/sandbox/checkout/{payment_id}"

    def _view(self, payment: SandboxPayment) -> ProviderPayment:
        payable = payment.status == PaymentStatus.OPEN
        return ProviderPayment(
            id=payment.payment_id, status=payment.status, amount_cents=payment.amount_cents,
            currency=payment.currency,
            checkout_url=self.checkout_url(payment.payment_id) if payable else None,
            payer_name=payment.payer_name, payer_iban=payment.payer_iban,
            payer_bic=payment.payer_bic, provider_mandate_id=payment.mandate_id,
            provider_customer_id=None, metadata=dict(payment.metadata_),
        )


def find_sandbox_payment(session: Session, payment_id: str) -> SandboxPayment | None:
    """The sandbox payment with this id; anything not shaped like one is None without a query."""
    if not PAYMENT_ID.match(payment_id):
        return None
    return session.scalar(select(SandboxPayment).where(SandboxPayment.payment_id == payment_id))


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
        payment.payer_name, payment.payer_iban, payment.payer_bic = payer_name, payer_iban, bic
        payment.mandate_id = "mdt_sbx" + secrets.token_hex(6)
