"""A subscription sold through the checkout: its first invoice is a payment request offering
"pay future invoices by direct debit"; once paid that way, the Core mandate the payment signed
(or the card token it stored) is what the following periods are collected on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.calendar import bank_today
from portal.events.models import Event
from portal.events.service import follow
from portal.invoices.models import Invoice
from portal.mandates.models import MandateStatus
from portal.payments.models import SetsUp
from portal.subscriptions.lifecycle import SubscriptionAction, apply_subscription_transition
from portal.subscriptions.models import Subscription, SubscriptionStatus


@follow("invoice.paid")
def collect_on_what_the_first_payment_left(session: Session, event: Event) -> None:
    invoice = session.scalar(select(Invoice).where(Invoice.public_id == event.subject))
    if invoice is None or invoice.subscription_id is None or invoice.payment_request is None:
        return
    subscription = session.get(Subscription, invoice.subscription_id)
    if subscription is None or subscription.status is SubscriptionStatus.STOPPED or (
            subscription.mandate_id or subscription.stored_mandate_id):
        return
    for payment in reversed(invoice.payment_request.payments):
        if payment.sets_up is SetsUp.SEPA_MANDATE and payment.mandate is not None \
                and payment.mandate.status == MandateStatus.ACTIVE:
            subscription.mandate = payment.mandate
        elif payment.sets_up is SetsUp.CARD_MANDATE and payment.stored_mandate is not None:
            subscription.stored_mandate = payment.stored_mandate
        else:
            continue
        apply_subscription_transition(
            session, subscription, SubscriptionAction.CHANGE, actor=f"event:{event.type}",
            now=event.created_at,
            data={"collect_on": "mandate" if subscription.mandate else "stored_mandate",
                  "invoice": invoice.public_id,
                  "effective_from": bank_today(event.created_at).isoformat()})
        return
