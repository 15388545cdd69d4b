"""Payment requests, the payments, refunds and chargebacks against them, the mandates and card
tokens a provider holds for later charges, and the log of every message sent about a request."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, enum_column
from portal.mandates.models import Customer, Mandate
from portal.merchants.models import Merchant
from portal.providers.base import PaymentStatus

if TYPE_CHECKING:
    from portal.shortlinks.models import ShortLink


class RequestStatus(enum.StrEnum):
    """Where a payment request stands; changed only by :mod:`portal.payments.lifecycle`."""

    OPEN = "open"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REFUNDED = "refunded"
    PARTLY_REFUNDED = "partly_refunded"


class Collect(enum.StrEnum):
    #: Charge a valid stored card token or provider mandate without the customer; else the link.
    AUTOMATIC = "automatic"
    #: Always let the customer pay through the link.
    LINK = "link"


class PaymentSource(enum.StrEnum):
    PROVIDER = "provider"
    #: Paid outside the portal (bank transfer, cash) and entered by the merchant.
    EXTERNAL = "external"


class SetsUp(enum.StrEnum):
    """What a first payment leaves behind when the customer chose to pay future invoices too."""

    SEPA_MANDATE = "sepa_mandate"
    CARD_MANDATE = "card_mandate"


class PaymentRequest(Base):
    """What a customer owes a merchant, and everything paid, refunded or charged back on it."""

    __tablename__ = "payment_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    #: What is asked, in euro cents.
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(140))
    #: The merchant's invoice number and own reference (filterable).
    invoice_number: Mapped[str | None] = mapped_column(String(35), index=True)
    external_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    due_date: Mapped[date | None]
    expires_at: Mapped[datetime]
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus), index=True)
    #: Money that arrived (paid payments), went back by refund (succeeded), or was taken back
    #: by the payer's bank (chargebacks). Kept in step with the rows, in the same transaction.
    received_cents: Mapped[int] = mapped_column(Integer, default=0)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    charged_back_cents: Mapped[int] = mapped_column(Integer, default=0)
    #: Methods the customer may choose from (None: all the merchant has enabled).
    methods: Mapped[list[str] | None] = mapped_column(JSON)
    #: The customer may pay part of it now.
    allow_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The page offers "pay this and future invoices by direct debit" (or by card).
    offer_mandate: Mapped[bool] = mapped_column(Boolean, default=False)
    collect: Mapped[Collect] = mapped_column(enum_column(Collect), default=Collect.AUTOMATIC)
    #: Where the checkout sends the customer back to (the merchant's page).
    return_url: Mapped[str | None] = mapped_column(Text)
    #: How the request was sent: email, sms or none (the merchant shares the link).
    channel: Mapped[str] = mapped_column(String(10), default="none")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    #: The customer asked for no more reminders about it (List-Unsubscribe, one click).
    reminders_unsubscribed_at: Mapped[datetime | None]
    #: Optimistic lock: a concurrent second change of the same row fails instead of winning.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    merchant: Mapped[Merchant] = relationship()
    customer: Mapped[Customer] = relationship()
    payments: Mapped[list[Payment]] = relationship(back_populates="request",
                                                   order_by="Payment.id")
    refunds: Mapped[list[Refund]] = relationship(back_populates="request", order_by="Refund.id")
    #: Its ``/s/<code>`` link (for SMS and the QR code), once made.
    short_link: Mapped[ShortLink | None] = relationship(
        "ShortLink", primaryjoin="ShortLink.payment_request_id == PaymentRequest.id",
        viewonly=True, uselist=False)

    @property
    def net_received_cents(self) -> int:
        """What arrived and was not taken back by the payer's bank."""
        return self.received_cents - self.charged_back_cents

    @property
    def open_cents(self) -> int:
        """What the customer still owes: nothing once withdrawn."""
        if self.withdrawn_at is not None:
            return 0
        return max(0, self.amount_cents - self.net_received_cents)

    @property
    def overpaid_cents(self) -> int:
        return max(0, self.net_received_cents - self.refunded_cents - self.amount_cents)

    @property
    def closed(self) -> bool:
        """Expired or withdrawn: the link no longer takes payments (late ones still count)."""
        return self.withdrawn_at is not None or self.expired_at is not None


class Payment(Base):
    """One payment against a request: a provider payment the customer started (or a recurring
    charge), or one made outside the portal and entered by the merchant."""

    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("provider", "provider_payment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    source: Mapped[PaymentSource] = mapped_column(enum_column(PaymentSource))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(64))
    #: ``ideal``, ``creditcard``, ``bancontact``, ``paypal``, ``directdebit``; external: free.
    method: Mapped[str | None] = mapped_column(String(30))
    #: ``oneoff``, ``first`` or ``recurring`` (charged on a stored mandate, no customer).
    sequence: Mapped[str] = mapped_column(String(10), default="oneoff")
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    amount_cents: Mapped[int] = mapped_column(Integer)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    charged_back_cents: Mapped[int] = mapped_column(Integer, default=0)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    payer_name: Mapped[str | None] = mapped_column(String(140))
    payer_iban_masked: Mapped[str | None] = mapped_column(String(42))
    payer_bic: Mapped[str | None] = mapped_column(String(11))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    #: When it was added to the request's received amount: once, whoever confirms it first.
    counted_at: Mapped[datetime | None]
    #: It arrived after the request expired or was withdrawn.
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: It arrived on a request that was already paid (a double payment).
    double: Mapped[bool] = mapped_column(Boolean, default=False)
    sets_up: Mapped[SetsUp | None] = mapped_column(enum_column(SetsUp))
    #: The Core mandate this first payment signs (the paying account becomes its IBAN).
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("mandate.id"), index=True)
    #: The stored mandate or card token this payment charged or left behind.
    provider_mandate_id: Mapped[int | None] = mapped_column(ForeignKey("provider_mandate.id"))
    #: External payments: the merchant's reference (bank statement line, receipt number).
    external_reference: Mapped[str | None] = mapped_column(String(100))
    #: Consent and circumstances when it sets up a mandate (IP, user agent, locale).
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Every status seen, with when and from where (``create``, ``return``, ``webhook``, …).
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    request: Mapped[PaymentRequest] = relationship(back_populates="payments")
    mandate: Mapped[Mandate | None] = relationship()
    stored_mandate: Mapped[ProviderMandate | None] = relationship()


class StoredMandateStatus(enum.StrEnum):
    VALID = "valid"
    #: Refused, expired or revoked: no more charges; the customer gets the pay link instead.
    INVALID = "invalid"


class ProviderMandate(Base):
    """A mandate the provider holds for charges without the customer: SEPA direct debit (the
    paying account, linked to the portal's Core mandate) or a card token (a card mandate)."""

    __tablename__ = "provider_mandate"
    __table_args__ = (UniqueConstraint("provider", "provider_mandate_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    #: The Core mandate it carries out (SEPA), None for a card token.
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("mandate.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_customer_id: Mapped[str] = mapped_column(String(64))
    #: The provider's id (Mollie ``mdt_…``).
    provider_mandate_ref: Mapped[str] = mapped_column(String(64))
    #: ``directdebit`` or ``creditcard``.
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[StoredMandateStatus] = mapped_column(enum_column(StoredMandateStatus))
    invalid_reason: Mapped[str | None] = mapped_column(String(100))
    #: A card token shows only the card's label, last four digits and expiry.
    card_label: Mapped[str | None] = mapped_column(String(30))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_expiry: Mapped[date | None]
    iban_masked: Mapped[str | None] = mapped_column(String(42))
    last_charged_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship()
    mandate: Mapped[Mandate | None] = relationship()


class RefundStatus(enum.StrEnum):
    #: Waiting to be sent to the provider, or sent and not yet done.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Base):
    """Money returned to the payer: of a payment on a request, or of a one-cent verification."""

    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_request.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    verification_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("verification_payment.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus))
    source: Mapped[PaymentSource] = mapped_column(enum_column(PaymentSource))
    provider: Mapped[str | None] = mapped_column(String(20))
    #: The provider's payment and refund ids (Mollie ``tr_…`` and ``re_…``).
    provider_payment_id: Mapped[str | None] = mapped_column(String(64))
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(140))
    #: Made by the portal itself (the one-cent verification, when the merchant wants that).
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    request: Mapped[PaymentRequest | None] = relationship(back_populates="refunds")
    payment: Mapped[Payment | None] = relationship()


class Chargeback(Base):
    """A payment (part of it) taken back by the payer's bank or card issuer."""

    __tablename__ = "chargeback"
    __table_args__ = (UniqueConstraint("provider", "provider_chargeback_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_chargeback_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    payment: Mapped[Payment] = relationship()


class MessageStatus(enum.StrEnum):
    #: Claimed by a worker that is handing it over now.
    SENDING = "sending"
    SENT = "sent"
    #: The transport could not take it now; a retry may claim it again.
    DEFERRED = "deferred"
    FAILED = "failed"


class PaymentMessage(Base):
    """Every message sent about a request (the request itself, reminders, receipts), one row per
    message and channel: its unique key is what keeps a step from going out twice."""

    __tablename__ = "payment_message"
    __table_args__ = (UniqueConstraint("request_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    #: e.g. ``request:email``, ``reminder:2:sms``, ``receipt:ptx_…:email``.
    key: Mapped[str] = mapped_column(String(80))
    #: ``request``, ``reminder``, ``receipt`` or ``fallback`` (a refused card charge's link).
    kind: Mapped[str] = mapped_column(String(20))
    step: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus))
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
