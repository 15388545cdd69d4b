"""What the built-in sandbox provider holds: payments, the mandates and card tokens first
payments leave behind, refunds and chargebacks (a stand-in for an acquirer such as Mollie)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import encrypted
from portal.db import Base, enum_column
from portal.providers.base import PaymentStatus


class SandboxPayment(Base):
    __tablename__ = "sandbox_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The id the sandbox gives out (``tr_sbx…``), like a real provider's.
    payment_id: Mapped[str] = mapped_column(String(40), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(140))
    redirect_url: Mapped[str] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    customer_name: Mapped[str] = mapped_column(String(140))
    locale: Mapped[str] = mapped_column(String(5))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    issuer: Mapped[str | None] = mapped_column(String(40))
    payer_name: Mapped[str | None] = mapped_column(String(140))
    #: The IBAN the tester paid from, encrypted like every IBAN at rest (FieldCipher, context
    #: ``sandbox_payment.payer_iban``): a sandbox may hold real account numbers too.
    payer_iban_ciphertext: Mapped[str | None] = mapped_column(
        Text, info=encrypted("sandbox_payment.payer_iban"))
    payer_bic: Mapped[str | None] = mapped_column(String(11))
    mandate_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    #: ``ideal``, ``creditcard``, ``bancontact``, ``paypal`` or ``directdebit`` (recurring).
    method: Mapped[str | None] = mapped_column(String(20))
    #: ``oneoff``, ``first`` or ``recurring``.
    sequence: Mapped[str] = mapped_column(String(10), default="first")
    customer_id: Mapped[str | None] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    #: Idempotency key of the create call: a retry gets the same payment back.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class SandboxMandate(Base):
    """A mandate (SEPA: the paying account) or card token left behind by a first payment."""

    __tablename__ = "sandbox_mandate"

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    method: Mapped[str] = mapped_column(String(20))
    #: ``valid`` or ``invalid`` (a tester may revoke it to see a recurring charge fail).
    status: Mapped[str] = mapped_column(String(10))
    consumer_name: Mapped[str | None] = mapped_column(String(140))
    #: The paying account, encrypted like every IBAN at rest.
    consumer_iban_ciphertext: Mapped[str | None] = mapped_column(
        Text, info=encrypted("sandbox_mandate.consumer_iban"))
    consumer_bic: Mapped[str | None] = mapped_column(String(11))
    #: A card token: the test card's label, last four digits and expiry; never a number.
    card_label: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_expiry: Mapped[str | None] = mapped_column(String(10))
    #: How the test card answers recurring charges: ``ok`` or ``declined``.
    card_behaviour: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]


class SandboxRefund(Base):
    __tablename__ = "sandbox_refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[str] = mapped_column(String(40), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    #: ``pending`` until the tester (or ``SANDBOX_REFUNDS``) settles it ``refunded`` or ``failed``.
    status: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(140))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class SandboxChargeback(Base):
    __tablename__ = "sandbox_chargeback"

    id: Mapped[int] = mapped_column(primary_key=True)
    chargeback_id: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[str] = mapped_column(String(40), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(140))
    created_at: Mapped[datetime]
