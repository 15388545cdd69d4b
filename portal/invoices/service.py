"""Invoices: create one with its one collection (a direct debit where an active mandate exists,
otherwise a payment request), enter a payment made elsewhere, void it, find and list them.

Everything commits with the caller's transaction; the invoice then follows its collection by
itself (:mod:`portal.invoices.settlement`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.collections.calendar import BANK_TIMEZONE, bank_today
from portal.collections.models import DebitStatus
from portal.collections.service import (
    DebitRefused,
    DebitRequest,
    apply_payment_before_export,
    cancel_debit,
    schedule_debit,
)
from portal.db import where_given
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.invoices.amounts import AmountError, LineAmounts, line_from_gross, totals
from portal.invoices.context import Billing
from portal.invoices.lifecycle import (
    InvalidInvoiceTransition,
    InvoiceAction,
    apply_invoice_transition,
    invoice_event_data,
)
from portal.invoices.models import (
    CollectionKind,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    InvoiceStatus,
)
from portal.invoices.numbering import next_number, number_taken, settings_of
from portal.invoices.settlement import lock_invoice, payment_requests_of, settle_invoice
from portal.mandates.models import Customer, Mandate, MandateStatus
from portal.merchants.models import Merchant
from portal.payments.lifecycle import InvalidTransition
from portal.payments.models import Collect, RequestStatus
from portal.payments.service import (
    CustomerDetails,
    RequestSpec,
    create_payment_request,
    record_external_payment,
    withdraw_payment_request,
)

#: The longest an invoice may give before it is due.
MAX_DUE_DAYS = 365


class InvoiceError(ValueError):
    """The invoice cannot be made or changed as asked; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvoiceNumberTaken(InvoiceError):
    def __init__(self, number: str) -> None:
        super().__init__("number", f"The number {number} is already used by another invoice.")


class InvoiceClosed(Exception):
    """The invoice no longer takes this change (it is void, or its money is on its way)."""


@dataclass(frozen=True)
class InvoiceSpec:
    """What an invoice says. ``lines`` priced without VAT, or ``amount_cents`` including VAT
    (at ``vat_rate``, if any); ``number`` None: the next of the merchant's sequence."""

    customer: Customer | CustomerDetails
    description: str
    lines: tuple[LineAmounts, ...] = ()
    amount_cents: int | None = None
    vat_rate: str | None = None
    number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    #: Collect on this mandate; None: the customer's newest active mandate, if
    #: ``use_customer_mandate``.
    mandate: Mandate | None = None
    use_customer_mandate: bool = True
    #: The payment request offers "pay future invoices by direct debit" (None: the merchant's
    #: setting).
    offer_mandate: bool | None = None
    methods: tuple[str, ...] | None = None
    external_reference: str | None = None
    subscription_id: int | None = None
    #: Extra data for the ``invoice.created`` event (a subscription's period).
    event_data: dict[str, Any] = field(default_factory=dict)


def _lines(spec: InvoiceSpec) -> list[LineAmounts]:
    if spec.lines and spec.amount_cents is not None:
        raise InvoiceError("amount", "Give either lines or an amount, not both.")
    if spec.lines:
        return list(spec.lines)
    if spec.amount_cents is None:
        raise InvoiceError("amount", "Give the amount, or the invoice's lines.")
    try:
        return [line_from_gross(spec.description, spec.amount_cents, spec.vat_rate)]
    except AmountError as exc:
        raise InvoiceError("vat_rate", str(exc)) from None


def customer_mandate(session: Session, customer: Customer) -> Mandate | None:
    """The customer's newest active mandate, to collect an invoice on."""
    return session.scalar(select(Mandate).where(
        Mandate.customer_id == customer.id, Mandate.status == MandateStatus.ACTIVE)
        .order_by(Mandate.id.desc()).limit(1))


def _request_expiry(due: date, now: datetime, billing: Billing) -> datetime:
    end_of_due = datetime.combine(due + timedelta(days=1), time(0), BANK_TIMEZONE).astimezone(UTC)
    return max(end_of_due, now) + timedelta(days=billing.request_ttl_days)


def create_invoice(session: Session, merchant: Merchant, spec: InvoiceSpec, *, actor: str,
                   now: datetime, billing: Billing) -> Invoice:
    """The invoice (and its customer when new), its lines, and its one collection: a debit on
    the mandate when it can be collected from, else a payment request (the checkout's pay link,
    or a charge on a stored card token); ``invoice.created`` goes out with it.
    InvoiceError (with the field) for anything that cannot be invoiced."""
    lines = _lines(spec)
    amounts = totals(lines)
    if amounts.amount_cents <= 0:
        raise InvoiceError("amount", "An invoice must be for at least 1 cent.")
    issue = spec.issue_date or bank_today(now)
    settings = settings_of(session, merchant.id)
    due = spec.due_date or issue + timedelta(days=settings.due_days)
    if due < issue or due > issue + timedelta(days=MAX_DUE_DAYS):
        raise InvoiceError("due_date", f"Must be on or after the issue date, within "
                                       f"{MAX_DUE_DAYS} days.")
    customer = spec.customer
    if isinstance(customer, CustomerDetails):
        customer = Customer(
            public_id=new_public_id("cus"), merchant_id=merchant.id, name=customer.name,
            email=customer.email, phone=customer.phone, locale=customer.locale or merchant.locale,
            external_reference=customer.external_reference, created_at=now)
        session.add(customer)
    elif customer.merchant_id != merchant.id:
        raise InvoiceError("customer_id", "The customer belongs to another merchant.")
    if spec.number is not None and number_taken(session, merchant.id, spec.number):
        raise InvoiceNumberTaken(spec.number)
    number = spec.number or next_number(session, merchant.id, issue)
    invoice = Invoice(
        public_id=new_public_id("in"), merchant_id=merchant.id, customer=customer, number=number,
        description=spec.description, currency="EUR", net_cents=amounts.net_cents,
        vat_cents=amounts.vat_cents, amount_cents=amounts.amount_cents, issue_date=issue,
        due_date=due, status=InvoiceStatus.OPEN, paid_cents=0,
        collection=CollectionKind.PAYMENT_REQUEST, subscription_id=spec.subscription_id,
        external_reference=spec.external_reference, created_at=now, updated_at=now)
    try:
        with session.begin_nested():  # a concurrent invoice that took the number loses here
            session.add(invoice)
            session.flush()
    except IntegrityError:
        raise InvoiceNumberTaken(number) from None
    for position, item in enumerate(lines, 1):
        session.add(InvoiceLine(
            invoice=invoice, position=position, description=item.description[:140],
            quantity=item.quantity, unit_amount_cents=item.unit_amount_cents,
            vat_rate=item.vat_rate, net_cents=item.net_cents, vat_cents=item.vat_cents,
            gross_cents=item.gross_cents))
    mandate = spec.mandate
    if mandate is None and spec.use_customer_mandate and customer.id is not None:
        mandate = customer_mandate(session, customer)
    _collect(session, merchant, invoice, spec, mandate, actor=actor, now=now, billing=billing)
    record_audit(session, action="invoice.create", subject=invoice.public_id, actor=actor,
                 merchant_id=merchant.id, now=now,
                 data={"number": number, "amount_cents": invoice.amount_cents,
                       "customer": customer.public_id, "collection": invoice.collection.value,
                       "debit_refused": invoice.debit_refused})
    emit_event(session, merchant_id=merchant.id, type="invoice.created",
               subject=invoice.public_id, now=now,
               data={**invoice_event_data(invoice), **spec.event_data})
    return invoice


def _collect(session: Session, merchant: Merchant, invoice: Invoice, spec: InvoiceSpec,
             mandate: Mandate | None, *, actor: str, now: datetime, billing: Billing) -> None:
    """The one collection: a debit where the mandate can carry it, else a payment request."""
    label = f"{invoice.number} {invoice.description}"
    if mandate is not None:
        try:
            debit = schedule_debit(session, DebitRequest(
                mandate=mandate, amount_cents=invoice.amount_cents, description=label,
                invoice_number=invoice.number, requested_date=invoice.due_date),
                policy=billing.collections, actor=actor, now=now)
        except DebitRefused as refused:
            invoice.debit_refused = refused.code
        else:
            invoice.collection, invoice.debit, invoice.mandate = (
                CollectionKind.DEBIT, debit, mandate)
            return
    customer = invoice.customer
    request = create_payment_request(session, merchant, RequestSpec(
        amount_cents=invoice.amount_cents, description=label[:140], customer=customer,
        expires_at=_request_expiry(invoice.due_date, now, billing),
        invoice_number=invoice.number, external_reference=invoice.external_reference,
        due_date=invoice.due_date, methods=spec.methods, offer_mandate=spec.offer_mandate,
        collect=Collect.AUTOMATIC, channel="email" if customer.email else "none",
        extra={"invoice": invoice.public_id}), actor=actor, now=now, settings=billing.payments)
    invoice.collection, invoice.payment_request = CollectionKind.PAYMENT_REQUEST, request


# -- Payments made elsewhere --------------------------------------------------------------------

def record_invoice_payment(session: Session, invoice: Invoice, amount_cents: int, *,
                           method: str | None, reference: str | None, actor: str,
                           now: datetime, paid_at: datetime | None = None) -> InvoicePayment:
    """A payment the merchant received outside the portal. On the invoice's open payment
    request it is counted there (the link then asks only the rest); before the debit goes out
    it lowers the debit to what is open, or cancels it (Jortt); once the debit is on its way
    it is only recorded (the excess is the merchant's to refund). InvoiceClosed on a void
    invoice. The caller commits."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive int")
    invoice = lock_invoice(session, invoice.id, now)
    if invoice.status is InvoiceStatus.VOID:
        raise InvoiceClosed("This invoice is void; it takes no payments.")
    double = invoice.status is InvoiceStatus.PAID
    row = InvoicePayment(public_id=new_public_id("ipm"), merchant_id=invoice.merchant_id,
                         invoice=invoice, amount_cents=amount_cents, method=method,
                         reference=reference, effect="recorded", double=double,
                         paid_at=paid_at or now, created_at=now)
    session.add(row)
    requests = [r for r in payment_requests_of(session, invoice)
                if r.status not in (RequestStatus.WITHDRAWN,)]
    debit = invoice.debit
    if requests:
        payment = record_external_payment(session, requests[-1], amount_cents, method=method,
                                          reference=reference, actor=actor, now=now,
                                          paid_at=paid_at)
        row.payment, row.effect = payment, "on_payment_request"
    elif debit is not None and debit.status == DebitStatus.SCHEDULED:
        session.flush()
        lowered = apply_payment_before_export(session, debit, min(amount_cents,
                                                                  debit.amount_cents),
                                              actor=actor, source=row.public_id, now=now)
        row.effect = "cancelled_debit" if lowered.status == DebitStatus.CANCELLED \
            else "reduced_debit"
    record_audit(session, action="invoice.payment", subject=invoice.public_id, actor=actor,
                 merchant_id=invoice.merchant_id, now=now,
                 data={"invoice_payment": row.public_id, "amount_cents": amount_cents,
                       "effect": row.effect, "double_payment": double, "method": method})
    settle_invoice(session, invoice, actor=actor, now=now)
    return row


# -- Voiding -------------------------------------------------------------------------------------

def void_invoice(session: Session, invoice: Invoice, *, reason: str | None, actor: str,
                 now: datetime) -> Invoice:
    """Withdraw an invoice nothing was paid on: its debit is cancelled (before it goes out) or
    its payment request withdrawn. InvoiceClosed once money arrived or the debit is on its
    way; InvalidInvoiceTransition when already void or paid."""
    invoice = lock_invoice(session, invoice.id, now)
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        raise InvalidInvoiceTransition(invoice.status, InvoiceAction.VOID)
    if invoice.paid_cents > 0:
        raise InvoiceClosed("Part of this invoice was paid; refund that first.")
    debit = invoice.debit
    if debit is not None and debit.status in (DebitStatus.SUBMITTED, DebitStatus.COLLECTED):
        raise InvoiceClosed("Its debit is already on its way to the bank.")
    if debit is not None and debit.status == DebitStatus.SCHEDULED:
        cancel_debit(session, debit, reason or "invoice void", actor=actor, now=now)
    for request in payment_requests_of(session, invoice):
        try:
            withdraw_payment_request(session, request, actor=actor, now=now,
                                     reason=reason or "invoice void")
        except InvalidTransition:
            pass  # expired or withdrawn already: nothing to stop
    apply_invoice_transition(session, invoice, InvoiceAction.VOID, InvoiceStatus.VOID,
                             actor=actor, now=now, data={"reason": reason} if reason else None)
    return invoice


# -- Finding -------------------------------------------------------------------------------------

def find_invoice(session: Session, merchant_id: int, public_id: str) -> Invoice | None:
    """The merchant's invoice with this id; another merchant's is None, like a missing one."""
    if not looks_like(public_id, "in"):
        return None
    return session.scalar(select(Invoice).where(Invoice.public_id == public_id,
                                                Invoice.merchant_id == merchant_id))


def merchant_invoices(merchant_id: int, *, status: InvoiceStatus | None = None,
                      customer_id: int | None = None, number: str | None = None,
                      subscription_id: int | None = None,
                      external_reference: str | None = None) -> Select[Any]:
    """The merchant's invoices, optionally filtered (unordered; callers paginate)."""
    return where_given(select(Invoice).where(Invoice.merchant_id == merchant_id),
                       (Invoice.status, status), (Invoice.customer_id, customer_id),
                       (Invoice.number, number), (Invoice.subscription_id, subscription_id),
                       (Invoice.external_reference, external_reference))
