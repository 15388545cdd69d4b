"""An invoice follows its collection: it is paid when the debit is collected or the payment
request is paid (together with payments entered on it), owed again when money is taken back,
and overdue when its due date passes unpaid with no first collection attempt on its way.

The followers below run in the transaction of the debit or payment event itself
(:func:`portal.events.service.follow`), so an invoice is never out of step with its money."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from portal.collections.calendar import bank_today
from portal.collections.models import Debit, DebitStatus
from portal.events.models import Event
from portal.events.service import follow
from portal.invoices.lifecycle import InvoiceAction, apply_invoice_transition
from portal.invoices.models import Invoice, InvoicePayment, InvoiceStatus
from portal.payments.models import PaymentRequest


class Settled(enum.StrEnum):
    """What settling an invoice did."""

    PAID = "paid"
    REOPENED = "reopened"
    #: Its amounts say what its status already says (a repeat): nothing changed.
    UNCHANGED = "unchanged"


def lock_invoice(session: Session, invoice_id: int, now: datetime) -> Invoice:
    """Take the invoice's row lock (writing first), then read it as committed by others."""
    session.execute(update(Invoice).where(Invoice.id == invoice_id).values(updated_at=now)
                    .execution_options(synchronize_session=False))
    invoice = session.get(Invoice, invoice_id, populate_existing=True)
    assert invoice is not None
    return invoice


def payment_requests_of(session: Session, invoice: Invoice) -> list[PaymentRequest]:
    """The invoice's own payment request, or its debit's pay link after the last failure."""
    requests = [invoice.payment_request] if invoice.payment_request is not None else []
    if invoice.debit is not None and invoice.debit.payment_request:
        pay_link = session.scalar(select(PaymentRequest).where(
            PaymentRequest.public_id == invoice.debit.payment_request))
        if pay_link is not None and pay_link not in requests:
            requests.append(pay_link)
    return requests


def received_cents(session: Session, invoice: Invoice) -> int:
    """What arrived for the invoice and stayed: its debit once collected, what its payment
    requests received less chargebacks, and payments entered on it directly."""
    total = int(session.scalar(select(func.coalesce(func.sum(InvoicePayment.amount_cents), 0))
                               .where(InvoicePayment.invoice_id == invoice.id,
                                      InvoicePayment.payment_id.is_(None))) or 0)
    if invoice.debit is not None and invoice.debit.status == DebitStatus.COLLECTED:
        total += invoice.debit.amount_cents
    total += sum(request.net_received_cents for request in payment_requests_of(session, invoice))
    return total


def first_attempt_in_flight(invoice: Invoice) -> bool:
    """The debit's first attempt is planned or at the bank: not late yet, whatever the date."""
    debit = invoice.debit
    return debit is not None and debit.attempt == 1 and debit.status in (
        DebitStatus.SCHEDULED, DebitStatus.SUBMITTED)


def is_overdue(invoice: Invoice, today: date) -> bool:
    return invoice.due_date < today and not first_attempt_in_flight(invoice)


def settle_invoice(session: Session, invoice: Invoice, *, actor: str, now: datetime) -> Settled:
    """Bring the invoice's amounts and status in step with its money; the caller holds its lock
    (:func:`lock_invoice`) or is inside the change that moved the money."""
    invoice.paid_cents = received_cents(session, invoice)
    if invoice.status is InvoiceStatus.VOID:
        return Settled.UNCHANGED
    covered = invoice.paid_cents >= invoice.amount_cents
    if covered and invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE):
        apply_invoice_transition(session, invoice, InvoiceAction.PAY, InvoiceStatus.PAID,
                                 actor=actor, now=now, data={"paid_cents": invoice.paid_cents})
        return Settled.PAID
    if not covered and invoice.status is InvoiceStatus.PAID:
        target = InvoiceStatus.OVERDUE if is_overdue(invoice, bank_today(now)) \
            else InvoiceStatus.OPEN
        apply_invoice_transition(session, invoice, InvoiceAction.REOPEN, target, actor=actor,
                                 now=now, data={"paid_cents": invoice.paid_cents,
                                                "reason": "money taken back"})
        return Settled.REOPENED
    return Settled.UNCHANGED


def mark_overdue_invoices(session: Session, *, now: datetime, limit: int = 500) -> list[str]:
    """Open invoices whose due date passed unpaid and whose first collection attempt is not on
    its way become overdue (``invoice.overdue``), once; returns their ids."""
    today = bank_today(now)
    marked = []
    candidates = session.scalars(select(Invoice.id).where(
        Invoice.status == InvoiceStatus.OPEN, Invoice.due_date < today)
        .order_by(Invoice.id).limit(limit)).all()
    for invoice_id in candidates:
        invoice = lock_invoice(session, invoice_id, now)
        if invoice.status is InvoiceStatus.OPEN and is_overdue(invoice, today):
            apply_invoice_transition(session, invoice, InvoiceAction.MARK_OVERDUE,
                                     InvoiceStatus.OVERDUE, actor="system", now=now)
            marked.append(invoice.public_id)
    return marked


# -- Following debits and payment requests ------------------------------------------------------

def _settle_all(session: Session, query, event: Event) -> None:
    with session.no_autoflush:  # most debits and requests belong to no invoice: a cheap look
        invoice_ids = session.scalars(query).all()
    for invoice_id in invoice_ids:
        settle_invoice(session, lock_invoice(session, invoice_id, event.created_at),
                       actor=f"event:{event.type}", now=event.created_at)


@follow("debit.collected", "debit.failed", "debit.refunded", "debit.cancelled")
def follow_debit(session: Session, event: Event) -> None:
    debit_id = select(Debit.id).where(Debit.public_id == event.subject).scalar_subquery()
    _settle_all(session, select(Invoice.id).where(Invoice.debit_id == debit_id), event)


@follow("payment_request.paid", "payment_request.partly_paid", "payment_request.overpaid",
        "chargeback.received")
def follow_payment_request(session: Session, event: Event) -> None:
    public_id = event.data.get("payment_request") or event.subject
    request_id = select(PaymentRequest.id).where(
        PaymentRequest.public_id == public_id).scalar_subquery()
    pay_link_debits = select(Debit.id).where(Debit.payment_request == public_id)
    _settle_all(session, select(Invoice.id).where(or_(
        Invoice.payment_request_id == request_id, Invoice.debit_id.in_(pay_link_debits))), event)
