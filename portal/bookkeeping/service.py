"""A merchant's bookkeeping for a period: invoices issued and paid; every movement of money
(collections, returns and MD06 refunds of debits, checkout and entered payments, refunds,
chargebacks) dated at the bank and tied to its invoice number; rejected debits and retries;
provider fees and payouts where the provider reported a settlement; the open amount per
customer at the end; collected versus failed per week.

Each money line carries the invoice number it settles, so the invoices' paid amounts and the
lines reconcile to the cent: for every invoice, the lines received on it (all but refunds,
which are the merchant paying back) add up to its ``paid`` amount."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.bookkeeping.models import ProviderSettlement, SettlementShare
from portal.collections.calendar import BANK_TIMEZONE, bank_today
from portal.collections.models import Debit, DebitAttempt, DebitStatus
from portal.invoices.models import Invoice, InvoicePayment, InvoiceStatus
from portal.mandates.models import Customer
from portal.payments.models import Chargeback, Payment, PaymentRequest, Refund, RefundStatus

#: Line types, in the order the report lists them; refunds are paid back, not received.
COLLECTION, RETURN, DEBIT_REFUND = "collection", "return", "debit_refund"
PAYMENT, REFUND, CHARGEBACK = "payment", "refund", "chargeback"
KINDS = (COLLECTION, RETURN, DEBIT_REFUND, PAYMENT, REFUND, CHARGEBACK)
RECEIVED_KINDS = frozenset(KINDS) - {REFUND}


class PeriodError(ValueError):
    """Not a period a report can cover."""


@dataclass(frozen=True)
class Line:
    """One movement of money: positive in, negative out, in cents."""

    day: date
    kind: str
    amount_cents: int
    invoice_number: str | None
    customer_id: str
    customer_name: str
    description: str
    reference: str


@dataclass(frozen=True)
class InvoiceRow:
    number: str
    public_id: str
    customer_id: str
    customer_name: str
    issue_date: date
    due_date: date
    status: str
    net_cents: int
    vat_cents: int
    amount_cents: int
    paid_cents: int
    open_cents: int
    paid_on: date | None


@dataclass(frozen=True)
class Week:
    starts_on: date
    collected_cents: int
    failed_cents: int


@dataclass
class Report:
    start: date
    #: The first day after the period.
    end: date
    invoices_issued: list[InvoiceRow] = field(default_factory=list)
    invoices_paid: list[InvoiceRow] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    #: Debits the bank refused before settlement (no money moved), and later attempts made.
    rejections: list[tuple[date, int]] = field(default_factory=list)
    retry_count: int = 0
    fees_cents: int = 0
    payouts_cents: int = 0
    settlements: int = 0
    #: Customer id → (name, open cents) at the end of the period, largest first.
    open_by_customer: list[tuple[str, str, int]] = field(default_factory=list)
    weeks: list[Week] = field(default_factory=list)

    @property
    def rejected_cents(self) -> int:
        return sum(cents for _, cents in self.rejections)

    def total(self, kind: str) -> int:
        return sum(line.amount_cents for line in self.lines if line.kind == kind)

    def count(self, kind: str) -> int:
        return sum(1 for line in self.lines if line.kind == kind)

    @property
    def net_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    def received_by_invoice(self) -> dict[str, int]:
        """Invoice number → what the period's lines brought in on it (refunds excluded)."""
        totals: dict[str, int] = defaultdict(int)
        for line in self.lines:
            if line.invoice_number is not None and line.kind in RECEIVED_KINDS:
                totals[line.invoice_number] += line.amount_cents
        return dict(totals)


def month_period(text: str) -> tuple[date, date]:
    """``2026-03`` → (1 March, 1 April); PeriodError otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        start = date(year, month, 1)
    except ValueError:
        raise PeriodError("A month is written like 2026-03.") from None
    if len(text) != 7 or not 2000 <= year <= 2100:
        raise PeriodError("A month is written like 2026-03.")
    return start, (start + timedelta(days=32)).replace(day=1)


def _moment(day: date) -> datetime:
    """Midnight at the bank at the start of ``day``, in UTC."""
    return datetime.combine(day, time(0), BANK_TIMEZONE).astimezone(UTC)


def build_report(session: Session, merchant_id: int, start: date, end: date) -> Report:
    """The report for the days ``start`` up to (not including) ``end``."""
    if not start < end or end - start > timedelta(days=366):
        raise PeriodError("A period is one day to one year long.")
    report = Report(start, end)
    since, until = _moment(start), _moment(end)
    _invoices(session, merchant_id, report, since, until)
    _debits(session, merchant_id, report)
    _payments(session, merchant_id, report, since, until)
    _settlements(session, merchant_id, report, since, until)
    _open_amounts(session, merchant_id, report, until)
    report.lines.sort(key=lambda line: (line.day, KINDS.index(line.kind), line.reference))
    _weeks(report)
    return report


def _row(invoice: Invoice) -> InvoiceRow:
    return InvoiceRow(
        invoice.number, invoice.public_id, invoice.customer.public_id, invoice.customer.name,
        invoice.issue_date, invoice.due_date, invoice.status.value, invoice.net_cents,
        invoice.vat_cents, invoice.amount_cents, invoice.paid_cents, invoice.open_cents,
        bank_today(invoice.paid_at) if invoice.paid_at else None)


def _invoices(session: Session, merchant_id: int, report: Report, since: datetime,
              until: datetime) -> None:
    base = select(Invoice).where(Invoice.merchant_id == merchant_id).options(
        selectinload(Invoice.customer)).order_by(Invoice.issue_date, Invoice.id)
    report.invoices_issued = [_row(i) for i in session.scalars(base.where(
        Invoice.issue_date >= report.start, Invoice.issue_date < report.end))]
    report.invoices_paid = [_row(i) for i in session.scalars(base.where(
        Invoice.status == InvoiceStatus.PAID, Invoice.paid_at >= since,
        Invoice.paid_at < until))]


def _debits(session: Session, merchant_id: int, report: Report) -> None:
    """Collections on their settlement date; returns and MD06 refunds on the day reported;
    rejections and retries (attempts presented in the period after the first)."""
    attempts = session.scalars(select(DebitAttempt).where(
        DebitAttempt.merchant_id == merchant_id,
        DebitAttempt.collection_date < report.end + timedelta(days=1),
        DebitAttempt.collection_date >= report.start - timedelta(days=400)).options(
        selectinload(DebitAttempt.debit).selectinload(Debit.customer)))
    for attempt in attempts:
        debit, outcome = attempt.debit, attempt.outcome
        if report.start <= attempt.collection_date < report.end and attempt.number > 1:
            report.retry_count += 1
        settled = bank_today(attempt.settled_at) if attempt.settled_at else None

        def line(day: date, kind: str, cents: int, detail: str,
                 debit: Debit = debit, attempt: DebitAttempt = attempt) -> None:
            if report.start <= day < report.end:
                report.lines.append(Line(
                    day, kind, cents, debit.invoice_number, debit.customer.public_id,
                    debit.customer.name, detail, f"{debit.public_id}/{attempt.number}"))

        if outcome in (DebitStatus.COLLECTED, DebitStatus.RETURNED, DebitStatus.REFUNDED):
            line(attempt.collection_date, COLLECTION, attempt.amount_cents, debit.description)
        if outcome in (DebitStatus.RETURNED, DebitStatus.REFUNDED) and settled is not None:
            kind = RETURN if outcome is DebitStatus.RETURNED else DEBIT_REFUND
            line(max(settled, attempt.collection_date), kind, -attempt.amount_cents,
                 f"{attempt.reason_code or ''} {attempt.reason_text or ''}".strip())
        if outcome is DebitStatus.REJECTED and settled is not None \
                and report.start <= settled < report.end:
            report.rejections.append((settled, attempt.amount_cents))


def _payments(session: Session, merchant_id: int, report: Report, since: datetime,
              until: datetime) -> None:
    requests: dict[int, PaymentRequest] = {}

    def request_of(request_id: int) -> PaymentRequest:
        if request_id not in requests:
            found = session.get(PaymentRequest, request_id)
            assert found is not None
            requests[request_id] = found
        return requests[request_id]

    def add(moment: datetime, kind: str, cents: int, request_id: int, detail: str,
            reference: str) -> None:
        request = request_of(request_id)
        report.lines.append(Line(bank_today(moment), kind, cents, request.invoice_number,
                                 request.customer.public_id, request.customer.name, detail,
                                 reference))

    for payment in session.scalars(select(Payment).where(
            Payment.merchant_id == merchant_id, Payment.counted_at >= since,
            Payment.counted_at < until)):
        add(payment.counted_at or since, PAYMENT, payment.amount_cents, payment.request_id,
            payment.method or payment.source.value, payment.public_id)
    for entered in session.scalars(select(InvoicePayment).where(
            InvoicePayment.merchant_id == merchant_id, InvoicePayment.payment_id.is_(None),
            InvoicePayment.paid_at >= since, InvoicePayment.paid_at < until).options(
            selectinload(InvoicePayment.invoice).selectinload(Invoice.customer))):
        invoice = entered.invoice
        report.lines.append(Line(
            bank_today(entered.paid_at), PAYMENT, entered.amount_cents, invoice.number,
            invoice.customer.public_id, invoice.customer.name,
            entered.method or "entered", entered.public_id))
    for refund in session.scalars(select(Refund).where(
            Refund.merchant_id == merchant_id, Refund.request_id.is_not(None),
            Refund.status == RefundStatus.SUCCEEDED, Refund.updated_at >= since,
            Refund.updated_at < until)):
        assert refund.request_id is not None
        add(refund.updated_at, REFUND, -refund.amount_cents, refund.request_id,
            refund.description, refund.public_id)
    for chargeback in session.scalars(select(Chargeback).where(
            Chargeback.merchant_id == merchant_id, Chargeback.created_at >= since,
            Chargeback.created_at < until)):
        add(chargeback.created_at, CHARGEBACK, -chargeback.amount_cents, chargeback.request_id,
            f"{chargeback.reason_code or ''} {chargeback.reason or ''}".strip(),
            chargeback.public_id)


def _settlements(session: Session, merchant_id: int, report: Report, since: datetime,
                 until: datetime) -> None:
    for share in session.scalars(select(SettlementShare).join(ProviderSettlement).where(
            SettlementShare.merchant_id == merchant_id, ProviderSettlement.settled_at >= since,
            ProviderSettlement.settled_at < until)):
        report.settlements += 1
        report.fees_cents += share.fees_cents
        report.payouts_cents += share.payout_cents


def _open_amounts(session: Session, merchant_id: int, report: Report,
                  until: datetime) -> None:
    """What each customer owes on invoices issued before the end and not paid or void."""
    owed: dict[int, int] = defaultdict(int)
    for invoice in session.scalars(select(Invoice).where(
            Invoice.merchant_id == merchant_id, Invoice.issue_date < report.end,
            Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.OVERDUE)))):
        owed[invoice.customer_id] += invoice.open_cents
    customers = {c.id: c for c in session.scalars(select(Customer).where(
        Customer.id.in_(owed)))} if owed else {}
    report.open_by_customer = sorted(
        ((customers[cid].public_id, customers[cid].name, cents)
         for cid, cents in owed.items() if cents > 0), key=lambda row: (-row[2], row[0]))


def _weeks(report: Report) -> None:
    """Collected versus failed (returned, refunded, rejected) per ISO week of the period."""
    first = report.start - timedelta(days=report.start.weekday())
    weeks: dict[date, list[int]] = {first + timedelta(weeks=n): [0, 0]
                                    for n in range((report.end - first).days // 7 + 1)
                                    if first + timedelta(weeks=n) < report.end}
    for line in report.lines:
        monday = line.day - timedelta(days=line.day.weekday())
        if line.kind == COLLECTION:
            weeks[monday][0] += line.amount_cents
        elif line.kind in (RETURN, DEBIT_REFUND):
            weeks[monday][1] += -line.amount_cents
    for day, cents in report.rejections:
        weeks[day - timedelta(days=day.weekday())][1] += cents
    report.weeks = [Week(day, collected, failed) for day, (collected, failed)
                    in sorted(weeks.items())]
