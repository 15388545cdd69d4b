"""Invoices: the merchant's invoice as the portal knows it, its lines, the payments entered on it,
the per-merchant number sequence and the merchant's invoice settings."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.collections.models import Debit
from portal.db import Base, enum_column
from portal.mandates.models import Customer, Mandate
from portal.merchants.models import Merchant
from portal.payments.models import Payment, PaymentRequest


class InvoiceStatus(enum.StrEnum):
    """Where an invoice stands; changed only by :mod:`portal.invoices.lifecycle`."""

    OPEN = "open"
    #: Past its due date unpaid, and no first collection attempt on its way.
    OVERDUE = "overdue"
    PAID = "paid"
    #: Withdrawn by the merchant before anything was paid or collected.
    VOID = "void"


class CollectionKind(enum.StrEnum):
    """How an invoice is collected: once, by one of these."""

    #: A direct debit on the customer's active mandate (:mod:`portal.collections`).
    DEBIT = "debit"
    #: A payment request: the checkout's pay link, or a charge on a stored card token.
    PAYMENT_REQUEST = "payment_request"


class InvoiceSettings(Base):
    """How one merchant numbers its invoices and when they are due; a merchant without a row
    uses the defaults (``INV-``, a series per year, due in 14 days)."""

    __tablename__ = "invoice_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), unique=True)
    #: Printed before the number, e.g. ``INV-`` → ``INV-2026-00042``.
    number_prefix: Mapped[str] = mapped_column(String(20), default="INV-")
    #: A series per calendar year of the issue date (the year in the number, restarting at 1).
    yearly: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Days from the issue date to the due date, unless the invoice says otherwise.
    due_days: Mapped[int] = mapped_column(Integer, default=14)
    updated_at: Mapped[datetime]


class InvoiceSequence(Base):
    """The last number given out in a merchant's series; bumped with a row lock, so concurrent
    invoices get consecutive, distinct numbers (and a rolled-back one leaves no gap)."""

    __tablename__ = "invoice_sequence"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), primary_key=True)
    #: ``""`` for one series, else the year (``"2026"``).
    series: Mapped[str] = mapped_column(String(4), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    """What a customer owes for one invoice, and its one collection."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("merchant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    #: Unique per merchant: the merchant's own, or the next of its sequence.
    number: Mapped[str] = mapped_column(String(35))
    description: Mapped[str] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(3))
    #: Totals in cents: without VAT, the VAT, and what the customer pays (``amount``).
    net_cents: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    issue_date: Mapped[date] = mapped_column(Date, index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(enum_column(InvoiceStatus), index=True)
    #: What arrived for it and stayed (collected, paid, less returns and chargebacks); kept in
    #: step with its collection in the same transaction.
    paid_cents: Mapped[int] = mapped_column(Integer, default=0)
    collection: Mapped[CollectionKind] = mapped_column(enum_column(CollectionKind))
    debit_id: Mapped[int | None] = mapped_column(ForeignKey("debit.id"), unique=True)
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_request.id"),
                                                           unique=True)
    #: The mandate the debit collects on (a debit invoice).
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("mandate.id"), index=True)
    #: Why a customer with a mandate got a payment request instead (a refusal code).
    debit_refused: Mapped[str | None] = mapped_column(String(40))
    #: The subscription whose period this invoice bills, if any.
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"),
                                                        index=True)
    external_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    paid_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: Optimistic lock: a concurrent second change of the same row fails instead of winning.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    merchant: Mapped[Merchant] = relationship()
    customer: Mapped[Customer] = relationship()
    debit: Mapped[Debit | None] = relationship()
    payment_request: Mapped[PaymentRequest | None] = relationship()
    mandate: Mapped[Mandate | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position",
                                                    back_populates="invoice")
    payments: Mapped[list[InvoicePayment]] = relationship(order_by="InvoicePayment.id",
                                                          back_populates="invoice")

    @property
    def open_cents(self) -> int:
        """What the customer still owes: nothing once void."""
        if self.status is InvoiceStatus.VOID:
            return 0
        return max(0, self.amount_cents - self.paid_cents)

    @property
    def overpaid_cents(self) -> int:
        return max(0, self.paid_cents - self.amount_cents)


class InvoiceLine(Base):
    """One line: quantity × unit price without VAT, at a VAT rate; amounts rounded per line."""

    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(140))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount_cents: Mapped[int] = mapped_column(Integer)
    #: Percent as written, e.g. ``"21"``, ``"9"``, ``"5.5"``, ``"0"``.
    vat_rate: Mapped[str] = mapped_column(String(6))
    net_cents: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[int] = mapped_column(Integer)
    gross_cents: Mapped[int] = mapped_column(Integer)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoicePayment(Base):
    """A payment the merchant entered on the invoice (bank transfer, cash). It lowers the debit
    when the debit has not gone out, or is counted on the invoice's open payment request."""

    __tablename__ = "invoice_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(String(30))
    reference: Mapped[str | None] = mapped_column(String(100))
    #: When it was recorded on the invoice's payment request, that request's payment (then it
    #: counts through the request, not twice).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), unique=True)
    #: What it did: ``reduced_debit``, ``cancelled_debit``, ``on_payment_request`` or
    #: ``recorded`` (the collection was already on its way: the excess is refundable).
    effect: Mapped[str] = mapped_column(String(20))
    #: It arrived when the invoice was paid already (a double payment).
    double: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime]
    created_at: Mapped[datetime]

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    payment: Mapped[Payment | None] = relationship()


__all__ = ["CollectionKind", "Invoice", "InvoiceLine", "InvoicePayment", "InvoiceSequence",
           "InvoiceSettings", "InvoiceStatus"]
