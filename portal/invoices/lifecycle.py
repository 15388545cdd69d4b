"""The invoice state machine: a table of allowed transitions and the one function applying them,
writing the audit event and the merchant event in the caller's transaction."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.invoices.models import Invoice, InvoiceStatus

S = InvoiceStatus


class InvoiceAction(enum.StrEnum):
    #: Everything owed arrived (collected, paid, or both together).
    PAY = "pay"
    #: The due date passed unpaid and no first collection attempt is on its way.
    MARK_OVERDUE = "mark_overdue"
    #: Money was taken back (a return after collection, a chargeback, MD06): owed again.
    REOPEN = "reopen"
    VOID = "void"


A = InvoiceAction

#: (current status, action) → the statuses it may lead to.
TRANSITIONS: dict[tuple[InvoiceStatus, InvoiceAction], frozenset[InvoiceStatus]] = {
    (S.OPEN, A.PAY): frozenset({S.PAID}),
    (S.OVERDUE, A.PAY): frozenset({S.PAID}),
    (S.OPEN, A.MARK_OVERDUE): frozenset({S.OVERDUE}),
    (S.PAID, A.REOPEN): frozenset({S.OPEN, S.OVERDUE}),
    (S.OPEN, A.VOID): frozenset({S.VOID}),
    (S.OVERDUE, A.VOID): frozenset({S.VOID}),
}

EVENT_TYPES: dict[InvoiceAction, str] = {
    A.PAY: "invoice.paid",
    A.MARK_OVERDUE: "invoice.overdue",
    A.REOPEN: "invoice.reopened",
    A.VOID: "invoice.voided",
}


class InvalidInvoiceTransition(Exception):
    """The action is not allowed from the invoice's current status."""

    def __init__(self, status: InvoiceStatus, action: InvoiceAction) -> None:
        super().__init__(f"cannot {action.value} an invoice that is {status.value}")
        self.status = status
        self.action = action


def can_apply(invoice: Invoice, action: InvoiceAction) -> bool:
    return (invoice.status, action) in TRANSITIONS


def apply_invoice_transition(session: Session, invoice: Invoice, action: InvoiceAction,
                             target: InvoiceStatus, *, actor: str, now: datetime,
                             data: dict[str, Any] | None = None) -> InvoiceStatus:
    """Move the invoice, writing its audit event and merchant event in the same transaction."""
    allowed = TRANSITIONS.get((invoice.status, action))
    if allowed is None or target not in allowed:
        raise InvalidInvoiceTransition(invoice.status, action)
    previous = invoice.status
    invoice.status = target
    invoice.updated_at = now
    if target is S.PAID:
        invoice.paid_at = now
    elif target is S.OVERDUE:
        invoice.overdue_at = invoice.overdue_at or now
    elif target is S.VOID:
        invoice.voided_at = now
    details = {"from": previous.value, "to": target.value, **(data or {})}
    record_audit(session, action=f"invoice.{action.value}", subject=invoice.public_id,
                 actor=actor, merchant_id=invoice.merchant_id, data=details, now=now)
    emit_event(session, merchant_id=invoice.merchant_id, type=EVENT_TYPES[action],
               subject=invoice.public_id, now=now,
               data=invoice_event_data(invoice, {"previous_status": previous.value,
                                                 **(data or {})}))
    return target


def invoice_event_data(invoice: Invoice, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every invoice event carries: ids, number, status, amounts, dates, collection."""
    collection = None
    if invoice.debit is not None:
        collection = invoice.debit.public_id
    elif invoice.payment_request is not None:
        collection = invoice.payment_request.public_id
    return {
        "invoice": invoice.public_id, "number": invoice.number, "status": invoice.status.value,
        "customer": invoice.customer.public_id, "amount": invoice.amount_cents,
        "paid_amount": invoice.paid_cents, "open_amount": invoice.open_cents,
        "issue_date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
        "collection": invoice.collection.value, "collection_id": collection,
        **{k: v for k, v in (extra or {}).items() if k in EVENT_FIELDS},
    }


#: Details of a transition that go into its event (the rest stays in the audit trail).
EVENT_FIELDS = frozenset({"previous_status", "reason", "subscription", "period",
                          "double_payment"})
