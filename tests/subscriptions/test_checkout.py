"""A subscription sold through the checkout: its first invoice is paid by iDEAL with "pay
future invoices by direct debit", which gives the Core mandate the following periods are
collected on, by direct debit, without the customer."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.models import DebitStatus
from portal.collections.routes import Collectors
from portal.invoices.context import Billing
from portal.invoices.models import CollectionKind, Invoice, InvoiceStatus
from portal.mandates.models import MandateStatus
from portal.merchants.models import Merchant
from portal.payments.models import SetsUp
from portal.payments.service import CustomerDetails
from portal.subscriptions.models import Subscription
from portal.subscriptions.service import SubscriptionSpec, start_subscription
from tests.collections.conftest import Clock
from tests.invoices.conftest import event_types
from tests.payments.driver import Checkout
from tests.subscriptions.conftest import Simulation, make_plan

PAYING_ACCOUNT = "NL18 RABO 0123 4598 76"


def invoices_of(session: Session, subscription: Subscription) -> list[Invoice]:
    session.expire_all()
    return list(session.scalars(select(Invoice).where(
        Invoice.subscription_id == subscription.id).order_by(Invoice.id)))


def test_a_subscription_sold_through_the_checkout_continues_by_direct_debit(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant, clock: Clock,
        billing: Billing, collectors: Collectors) -> None:
    plan = make_plan(session, merchant, clock, amount_cents=2500)
    subscription = start_subscription(session, merchant, SubscriptionSpec(
        customer=CustomerDetails(name="Sam de Vries", email="sam@example.org", locale="en"),
        plan=plan, offer_mandate=True), actor="test", now=clock.now, billing=billing)
    session.commit()
    [first] = invoices_of(session, subscription)
    assert first.collection is CollectionKind.PAYMENT_REQUEST
    assert first.payment_request is not None and first.payment_request.offer_mandate

    checkout = Checkout(app, client, session, first.payment_request)
    page = checkout.open("?lang=en").get_data(as_text=True)
    assert "Pay this and future invoices" in page
    checkout.pay("ideal", payer_iban=PAYING_ACCOUNT, set_up="y", consent="y")
    [payment] = checkout.payments()
    assert payment.sets_up is SetsUp.SEPA_MANDATE and payment.mandate is not None
    mandate = payment.mandate
    assert mandate.status is MandateStatus.ACTIVE
    session.expire_all()
    subscription = session.get(Subscription, subscription.id)
    assert subscription.mandate_id == mandate.id
    assert session.get(Invoice, first.id).status is InvoiceStatus.PAID
    assert event_types(session, subscription.public_id) == [
        "subscription.created", "subscription.period_billed", "subscription.changed"]

    Simulation(app, session, clock, collectors).until(date(2026, 6, 10))
    invoices = invoices_of(session, subscription)
    assert [(i.issue_date, i.amount_cents, i.collection, i.status) for i in invoices] == [
        (date(2026, 3, 20), 2500, CollectionKind.PAYMENT_REQUEST, InvoiceStatus.PAID),
        (date(2026, 4, 20), 2500, CollectionKind.DEBIT, InvoiceStatus.PAID),
        (date(2026, 5, 20), 2500, CollectionKind.DEBIT, InvoiceStatus.PAID),
    ]
    for invoice in invoices[1:]:
        assert invoice.debit is not None and invoice.debit.mandate_id == mandate.id
        assert invoice.debit.status == DebitStatus.COLLECTED
        assert invoice.debit.sequence_type.value in ("FRST", "RCUR")
    assert invoices[1].debit.collection_date >= invoices[1].due_date
