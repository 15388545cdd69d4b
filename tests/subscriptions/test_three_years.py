"""Acceptance: a subscription run over three simulated years — two pauses, one plan change, a
failed debit that succeeds on its second attempt — produces exactly these invoices and debits,
with these dates (both databases)."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.models import DebitAttempt
from portal.collections.routes import Collectors
from portal.collections.sandbox_bank import TEST_ACCOUNTS
from portal.events.models import Event
from portal.invoices.models import Invoice
from portal.merchants.models import Merchant
from portal.subscriptions.models import Interval, Subscription, SubscriptionPeriod
from portal.subscriptions.service import (
    SubscriptionSpec,
    change_plan,
    pause_subscription,
    resume_subscription,
    start_subscription,
)
from tests.collections.conftest import Clock, active_mandate
from tests.subscriptions.conftest import Simulation, make_plan

AM04_ONCE = TEST_ACCOUNTS[1].iban  # insufficient funds the first time, then paid


def test_three_years_with_two_pauses_a_plan_change_and_a_retried_debit(
        app: Flask, session: Session, merchant: Merchant, clock: Clock, collectors: Collectors,
        billing) -> None:
    clock.set_day(date(2026, 4, 1), hour=8)
    monthly = make_plan(session, merchant, clock, name="Monthly membership", amount_cents=2500,
                        vat_rate="21")
    quarterly = make_plan(session, merchant, clock, name="Quarterly membership",
                          amount_cents=7000, interval=Interval.QUARTERLY, vat_rate="21")
    mandate = active_mandate(session, merchant, iban=AM04_ONCE)
    subscription = start_subscription(session, merchant, SubscriptionSpec(
        customer=mandate.customer, plan=monthly, start_date=date(2026, 4, 1), anchor_day=1,
        mandate=mandate), actor="test", now=clock.now, billing=billing)
    session.commit()

    def sub() -> Subscription:
        return session.get(Subscription, subscription.id)

    simulation = Simulation(app, session, clock, collectors)
    simulation.until(date(2029, 3, 31), actions={
        # Summer break, asked in June: July and August are not billed.
        date(2026, 6, 10): lambda: pause_subscription(
            session, sub(), pause_from=date(2026, 7, 1), resume_on=date(2026, 9, 1),
            actor="test", now=clock.now),
        # Quarterly from the next period (1 March 2027).
        date(2027, 2, 10): lambda: change_plan(session, sub(), quarterly, actor="test",
                                               now=clock.now),
        # Open-ended pause from mid-January 2028 (the March quarter is skipped) …
        date(2028, 1, 10): lambda: pause_subscription(
            session, sub(), pause_from=date(2028, 1, 15), resume_on=None, actor="test",
            now=clock.now),
        # … until the merchant resumes it in May.
        date(2028, 5, 10): lambda: resume_subscription(session, sub(), resume_on=None,
                                                       actor="test", now=clock.now),
    })

    invoices = session.scalars(select(Invoice).where(Invoice.subscription_id == subscription.id)
                               .order_by(Invoice.id)).all()
    m, q = 2500, 7000
    assert [(i.number, i.issue_date, i.amount_cents, i.status.value) for i in invoices] == [
        ("INV-2026-00001", date(2026, 4, 1), m, "paid"),
        ("INV-2026-00002", date(2026, 5, 1), m, "paid"),
        ("INV-2026-00003", date(2026, 6, 1), m, "paid"),
        # July and August paused
        ("INV-2026-00004", date(2026, 9, 1), m, "paid"),
        ("INV-2026-00005", date(2026, 10, 1), m, "paid"),
        ("INV-2026-00006", date(2026, 11, 1), m, "paid"),
        ("INV-2026-00007", date(2026, 12, 1), m, "paid"),
        ("INV-2027-00001", date(2027, 1, 1), m, "paid"),
        ("INV-2027-00002", date(2027, 2, 1), m, "paid"),
        # quarterly from March 2027
        ("INV-2027-00003", date(2027, 3, 1), q, "paid"),
        ("INV-2027-00004", date(2027, 6, 1), q, "paid"),
        ("INV-2027-00005", date(2027, 9, 1), q, "paid"),
        ("INV-2027-00006", date(2027, 12, 1), q, "paid"),
        # the March 2028 quarter paused
        ("INV-2028-00001", date(2028, 6, 1), q, "paid"),
        ("INV-2028-00002", date(2028, 9, 1), q, "paid"),
        ("INV-2028-00003", date(2028, 12, 1), q, "paid"),
        ("INV-2029-00001", date(2029, 3, 1), q, "paid"),
    ]
    assert {(i.net_cents, i.vat_cents) for i in invoices} == {(2066, 434), (5785, 1215)}
    assert all(i.due_date == date.fromordinal(i.issue_date.toordinal() + 14) for i in invoices)

    attempts = session.scalars(select(DebitAttempt).order_by(DebitAttempt.id)).all()
    assert [(a.debit.invoice_number, a.number, a.sequence_type.value, a.collection_date,
             a.amount_cents, a.outcome.value, a.reason_code) for a in attempts] == [
        # 14 days' notice; AM04, retried 5 days later on the day after the 25th (a Saturday)
        ("INV-2026-00001", 1, "FRST", date(2026, 4, 15), m, "returned", "AM04"),
        ("INV-2026-00001", 2, "FRST", date(2026, 4, 27), m, "collected", None),
        ("INV-2026-00002", 1, "RCUR", date(2026, 5, 15), m, "collected", None),
        ("INV-2026-00003", 1, "RCUR", date(2026, 6, 15), m, "collected", None),
        ("INV-2026-00004", 1, "RCUR", date(2026, 9, 15), m, "collected", None),
        ("INV-2026-00005", 1, "RCUR", date(2026, 10, 15), m, "collected", None),
        ("INV-2026-00006", 1, "RCUR", date(2026, 11, 16), m, "collected", None),  # 15th: Sunday
        ("INV-2026-00007", 1, "RCUR", date(2026, 12, 15), m, "collected", None),
        ("INV-2027-00001", 1, "RCUR", date(2027, 1, 15), m, "collected", None),
        ("INV-2027-00002", 1, "RCUR", date(2027, 2, 15), m, "collected", None),
        ("INV-2027-00003", 1, "RCUR", date(2027, 3, 15), q, "collected", None),
        ("INV-2027-00004", 1, "RCUR", date(2027, 6, 15), q, "collected", None),
        ("INV-2027-00005", 1, "RCUR", date(2027, 9, 15), q, "collected", None),
        ("INV-2027-00006", 1, "RCUR", date(2027, 12, 15), q, "collected", None),
        ("INV-2028-00001", 1, "RCUR", date(2028, 6, 15), q, "collected", None),
        ("INV-2028-00002", 1, "RCUR", date(2028, 9, 15), q, "collected", None),
        ("INV-2028-00003", 1, "RCUR", date(2028, 12, 15), q, "collected", None),
        ("INV-2029-00001", 1, "RCUR", date(2029, 3, 15), q, "collected", None),
    ]

    periods = session.scalars(select(SubscriptionPeriod).where(
        SubscriptionPeriod.subscription_id == subscription.id)
        .order_by(SubscriptionPeriod.index)).all()
    assert [(p.starts_on, p.outcome.value) for p in periods if p.outcome.value == "skipped"] == [
        (date(2026, 7, 1), "skipped"), (date(2026, 8, 1), "skipped"),
        (date(2028, 3, 1), "skipped")]
    assert len(periods) == 20 and [p.index for p in periods] == list(range(20))

    def events(subject: str) -> list[tuple[str, str]]:
        return [(e.type, e.created_at.date().isoformat()) for e in session.scalars(
            select(Event).where(Event.subject == subject).order_by(Event.id))]

    changes = [e for e in events(subscription.public_id) if e[0] != "subscription.period_billed"]
    assert changes == [
        ("subscription.created", "2026-04-01"), ("subscription.paused", "2026-07-01"),
        ("subscription.resumed", "2026-09-01"), ("subscription.changed", "2027-03-01"),
        ("subscription.paused", "2028-01-15"), ("subscription.resumed", "2028-05-10")]
    assert [e for e, _ in events(subscription.public_id)].count(
        "subscription.period_billed") == 17
    # The retried first invoice was late in between.
    assert events(invoices[0].public_id) == [
        ("invoice.created", "2026-04-01"), ("invoice.overdue", "2026-04-16"),
        ("invoice.paid", "2026-04-27")]
    assert all(events(i.public_id) == [("invoice.created", i.issue_date.isoformat()),
                                       ("invoice.paid", i.debit.collection_date.isoformat())]
               for i in invoices[1:])
    assert len(simulation.mornings) < 120  # busy days only, of 1,096
