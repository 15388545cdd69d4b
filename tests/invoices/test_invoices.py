"""Invoices: numbers (own or from the merchant's sequence), lines and VAT, one collection each
(a debit on an active mandate, else a payment request), paid by themselves when their money
arrives, lowered debits after a payment made elsewhere, void and overdue (both databases)."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.models import Debit, DebitStatus
from portal.collections.routes import Collectors
from portal.invoices.amounts import line
from portal.invoices.context import Billing
from portal.invoices.lifecycle import InvalidInvoiceTransition
from portal.invoices.models import CollectionKind, Invoice, InvoiceSettings, InvoiceStatus
from portal.invoices.service import (
    InvoiceClosed,
    InvoiceError,
    InvoiceNumberTaken,
    InvoiceSpec,
    create_invoice,
    record_invoice_payment,
    void_invoice,
)
from portal.invoices.settlement import mark_overdue_invoices
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.merchants.models import Merchant
from portal.payments.models import RequestStatus
from portal.payments.service import CustomerDetails, record_external_payment
from tests.collections.conftest import Clock, active_mandate
from tests.invoices.conftest import event_types, run_days

SAM = CustomerDetails(name="Sam de Vries", email="sam@example.org", locale="en")


def invoice_for(session: Session, merchant: Merchant, billing: Billing, clock: Clock,
                **fields) -> Invoice:
    fields.setdefault("customer", SAM)
    fields.setdefault("description", "Membership April")
    if "lines" not in fields:
        fields.setdefault("amount_cents", 2500)
    invoice = create_invoice(session, merchant, InvoiceSpec(**fields), actor="test",
                             now=clock.now, billing=billing)
    session.commit()
    return invoice


def reload(session: Session, invoice: Invoice) -> Invoice:
    session.expire_all()
    return session.get(Invoice, invoice.id)


def test_numbers_follow_the_merchants_yearly_series_and_own_numbers_stay_unique(
        session: Session, merchant: Merchant, billing: Billing, clock: Clock) -> None:
    first = invoice_for(session, merchant, billing, clock)
    second = invoice_for(session, merchant, billing, clock)
    own = invoice_for(session, merchant, billing, clock, number="2026-EXT-7")
    assert (first.number, second.number, own.number) == (
        "INV-2026-00001", "INV-2026-00002", "2026-EXT-7")
    with pytest.raises(InvoiceNumberTaken):
        invoice_for(session, merchant, billing, clock, number="INV-2026-00002")
    session.rollback()
    # An own number that the sequence would reach next is skipped by it.
    invoice_for(session, merchant, billing, clock, number="INV-2026-00003")
    assert invoice_for(session, merchant, billing, clock).number == "INV-2026-00004"
    # A new year starts a new series; another merchant has its own.
    clock.set_day(date(2027, 1, 4))
    assert invoice_for(session, merchant, billing, clock).number == "INV-2027-00001"
    session.add(InvoiceSettings(merchant_id=merchant.id, number_prefix="F", yearly=False,
                                due_days=30, updated_at=clock.now))
    session.commit()
    single = invoice_for(session, merchant, billing, clock)
    assert single.number == "F00001" and single.due_date == date(2027, 2, 3)


def test_lines_carry_vat_per_line_and_the_totals_add_up(
        session: Session, merchant: Merchant, billing: Billing, clock: Clock) -> None:
    invoice = invoice_for(session, merchant, billing, clock, lines=(
        line("Coaching session", 3, 4999, "21"), line("Book", 1, 1995, "9"),
        line("Deposit", 1, 1000, "0")))
    assert [(i.net_cents, i.vat_cents, i.gross_cents) for i in invoice.lines] == [
        (14997, 3149, 18146), (1995, 180, 2175), (1000, 0, 1000)]
    assert (invoice.net_cents, invoice.vat_cents, invoice.amount_cents) == (17992, 3329, 21321)
    with pytest.raises(InvoiceError) as refused:
        invoice_for(session, merchant, billing, clock, amount_cents=100,
                    lines=(line("x", 1, 100, "21"),))
    assert refused.value.field == "amount"
    session.rollback()
    plan_like = invoice_for(session, merchant, billing, clock, amount_cents=1999, vat_rate="21")
    assert (plan_like.net_cents, plan_like.vat_cents, plan_like.amount_cents) == (1652, 347, 1999)


def test_an_invoice_for_a_customer_with_a_mandate_is_a_debit_and_is_paid_when_collected(
        app: Flask, session: Session, merchant: Merchant, billing: Billing, clock: Clock,
        collectors: Collectors) -> None:
    mandate = active_mandate(session, merchant)
    session.commit()
    invoice = invoice_for(session, merchant, billing, clock, customer=mandate.customer)
    assert invoice.collection is CollectionKind.DEBIT and invoice.mandate_id == mandate.id
    debit = invoice.debit
    assert (debit.amount_cents, debit.invoice_number, debit.requested_date) == (
        2500, invoice.number, invoice.due_date)
    assert debit.collection_date == date(2026, 4, 7)  # 14 days' notice, Easter Monday skipped
    run_days(app, collectors, clock, date(2026, 4, 6))
    assert reload(session, invoice).status is InvoiceStatus.OPEN
    run_days(app, collectors, clock, date(2026, 4, 7))
    invoice = reload(session, invoice)
    assert (invoice.status, invoice.paid_cents, invoice.open_cents) == (
        InvoiceStatus.PAID, 2500, 0)
    assert event_types(session, invoice.public_id) == ["invoice.created", "invoice.paid"]


def test_without_a_mandate_the_invoice_is_a_payment_request_and_is_paid_with_it(
        session: Session, merchant: Merchant, billing: Billing, clock: Clock) -> None:
    invoice = invoice_for(session, merchant, billing, clock)
    request = invoice.payment_request
    assert invoice.collection is CollectionKind.PAYMENT_REQUEST and invoice.debit is None
    assert (request.amount_cents, request.invoice_number, request.due_date, request.channel) == (
        2500, invoice.number, invoice.due_date, "email")
    record_external_payment(session, request, 1000, method="transfer", reference="bank 1",
                            actor="test", now=clock.now)
    session.commit()
    assert reload(session, invoice).status is InvoiceStatus.OPEN
    assert reload(session, invoice).paid_cents == 1000
    record_external_payment(session, request, 1500, method="transfer", reference="bank 2",
                            actor="test", now=clock.now)
    session.commit()
    invoice = reload(session, invoice)
    assert (invoice.status, invoice.paid_cents) == (InvoiceStatus.PAID, 2500)


def test_a_payment_before_the_debit_goes_out_lowers_it_and_a_full_one_cancels_it(
        app: Flask, session: Session, merchant: Merchant, billing: Billing, clock: Clock,
        collectors: Collectors) -> None:
    mandate = active_mandate(session, merchant)
    session.commit()
    invoice = invoice_for(session, merchant, billing, clock, customer=mandate.customer)
    part = record_invoice_payment(session, invoice, 1000, method="transfer", reference=None,
                                  actor="test", now=clock.now)
    session.commit()
    invoice = reload(session, invoice)
    assert part.effect == "reduced_debit"
    assert (invoice.debit.status, invoice.debit.amount_cents) == (DebitStatus.SCHEDULED, 1500)
    assert (invoice.status, invoice.paid_cents) == (InvoiceStatus.OPEN, 1000)
    run_days(app, collectors, clock, date(2026, 4, 7))
    invoice = reload(session, invoice)
    assert (invoice.status, invoice.paid_cents, invoice.debit.status) == (
        InvoiceStatus.PAID, 2500, DebitStatus.COLLECTED)

    other = invoice_for(session, merchant, billing, clock, customer=mandate.customer)
    whole = record_invoice_payment(session, other, 2500, method="cash", reference=None,
                                   actor="test", now=clock.now)
    session.commit()
    other = reload(session, other)
    assert whole.effect == "cancelled_debit" and other.debit.status is DebitStatus.CANCELLED
    assert other.status is InvoiceStatus.PAID
    assert "debit.cancelled" in event_types(session, other.debit.public_id)


def test_a_payment_once_the_debit_is_at_the_bank_is_recorded_and_shows_as_overpaid(
        app: Flask, session: Session, merchant: Merchant, billing: Billing, clock: Clock,
        collectors: Collectors) -> None:
    mandate = active_mandate(session, merchant)
    session.commit()
    invoice = invoice_for(session, merchant, billing, clock, customer=mandate.customer)
    run_days(app, collectors, clock, date(2026, 3, 24))  # exported on the 24th (14-day horizon)
    assert reload(session, invoice).debit.status is DebitStatus.SUBMITTED
    late = record_invoice_payment(session, reload(session, invoice), 2500, method="transfer",
                                  reference=None, actor="test", now=clock.now)
    session.commit()
    assert late.effect == "recorded"
    invoice = reload(session, invoice)
    assert invoice.status is InvoiceStatus.PAID
    run_days(app, collectors, clock, date(2026, 4, 7))
    invoice = reload(session, invoice)
    assert (invoice.paid_cents, invoice.overpaid_cents) == (5000, 2500)
    again = record_invoice_payment(session, invoice, 100, method="cash", reference=None,
                                   actor="test", now=clock.now)
    assert again.double is True


def test_a_refused_debit_falls_back_to_a_payment_request_and_says_why(
        session: Session, merchant: Merchant, billing: Billing, clock: Clock) -> None:
    mandate = active_mandate(session, merchant)
    apply_transition(session, mandate, MandateAction.REVOKE, actor="test", now=clock.now)
    session.commit()
    invoice = invoice_for(session, merchant, billing, clock, customer=mandate.customer,
                          mandate=mandate)
    assert invoice.collection is CollectionKind.PAYMENT_REQUEST
    assert invoice.debit_refused == "mandate_revoked"
    assert session.scalar(select(Debit.id)) is None


def test_void_cancels_the_collection_and_refuses_once_money_is_on_its_way(
        app: Flask, session: Session, merchant: Merchant, billing: Billing, clock: Clock,
        collectors: Collectors) -> None:
    request_invoice = invoice_for(session, merchant, billing, clock)
    void_invoice(session, request_invoice, reason="sent by mistake", actor="test",
                 now=clock.now)
    session.commit()
    request_invoice = reload(session, request_invoice)
    assert request_invoice.status is InvoiceStatus.VOID
    assert request_invoice.payment_request.status is RequestStatus.WITHDRAWN
    with pytest.raises(InvalidInvoiceTransition):
        void_invoice(session, request_invoice, reason=None, actor="test", now=clock.now)
    with pytest.raises(InvoiceClosed):
        record_invoice_payment(session, request_invoice, 100, method=None, reference=None,
                               actor="test", now=clock.now)
    session.rollback()

    mandate = active_mandate(session, merchant)
    session.commit()
    debit_invoice = invoice_for(session, merchant, billing, clock, customer=mandate.customer)
    run_days(app, collectors, clock, date(2026, 3, 24))
    with pytest.raises(InvoiceClosed):
        void_invoice(session, reload(session, debit_invoice), reason=None, actor="test",
                     now=clock.now)


def test_an_unpaid_invoice_becomes_overdue_once_its_first_attempt_is_not_on_its_way(
        session: Session, merchant: Merchant, billing: Billing, clock: Clock) -> None:
    mandate = active_mandate(session, merchant)
    session.commit()
    by_link = invoice_for(session, merchant, billing, clock, due_date=date(2026, 3, 25))
    by_debit = invoice_for(session, merchant, billing, clock, customer=mandate.customer,
                           due_date=date(2026, 3, 25))
    clock.set_day(date(2026, 3, 25))
    assert mark_overdue_invoices(session, now=clock.now) == []
    clock.set_day(date(2026, 3, 26))
    assert mark_overdue_invoices(session, now=clock.now) == [by_link.public_id]
    assert mark_overdue_invoices(session, now=clock.now) == []  # once
    session.commit()
    assert reload(session, by_debit).status is InvoiceStatus.OPEN  # its debit is on its way
    assert event_types(session, by_link.public_id) == ["invoice.created", "invoice.overdue"]
    record_external_payment(session, reload(session, by_link).payment_request, 2500,
                            method=None, reference=None, actor="test", now=clock.now)
    session.commit()
    assert reload(session, by_link).status is InvoiceStatus.PAID
