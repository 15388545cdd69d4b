"""A merchant's dashboard figures: mandates by status, this month's collections, what needs
action (failed debits that will not be retried, open payment requests past their due date) and
the webhook endpoint's health. Counts are done by the database, per merchant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.collections.models import Debit, DebitStatus
from portal.events.models import Event
from portal.mandates.models import Mandate
from portal.merchants.models import Merchant
from portal.payments.models import PaymentRequest, RequestStatus
from portal.webhooks.models import DeliveryStatus, WebhookDelivery

FAILED = (DebitStatus.REJECTED, DebitStatus.RETURNED)
OPEN = (RequestStatus.OPEN, RequestStatus.PARTLY_PAID)
#: How many rows of each "needs action" list the page shows.
LIST_LIMIT = 10
HEALTH_WINDOW = timedelta(days=7)


@dataclass
class WebhookHealth:
    url: str | None
    disabled_at: datetime | None
    #: Deliveries of the last week by status, and the failed ones to replay.
    by_status: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[WebhookDelivery, Event]] = field(default_factory=list)


@dataclass
class Dashboard:
    mandates_by_status: dict[str, int]
    collected_count: int
    collected_cents: int
    failed_this_month: int
    failed_debits: list[Debit]
    overdue_requests: list[PaymentRequest]
    webhooks: WebhookHealth


def _month_start(now: datetime):
    return now.date().replace(day=1)


def dashboard(session: Session, merchant: Merchant, *, now: datetime) -> Dashboard:
    month = _month_start(now)
    by_status = {status.value if hasattr(status, "value") else str(status): count
                 for status, count in session.execute(
                     select(Mandate.status, func.count()).where(Mandate.merchant_id == merchant.id)
                     .group_by(Mandate.status))}
    collected_count, collected_cents = session.execute(
        select(func.count(), func.coalesce(func.sum(Debit.amount_cents), 0))
        .where(Debit.merchant_id == merchant.id, Debit.status == DebitStatus.COLLECTED,
               Debit.collection_date >= month)).one()
    failed_this_month = session.scalar(
        select(func.count()).where(Debit.merchant_id == merchant.id, Debit.status.in_(FAILED),
                                   Debit.collection_date >= month)) or 0
    failed_debits = list(session.scalars(
        select(Debit).where(Debit.merchant_id == merchant.id, Debit.status.in_(FAILED),
                            Debit.will_retry.is_(False))
        .order_by(Debit.updated_at.desc(), Debit.id.desc()).limit(LIST_LIMIT)))
    overdue = list(session.scalars(
        select(PaymentRequest).where(PaymentRequest.merchant_id == merchant.id,
                                     PaymentRequest.status.in_(OPEN),
                                     PaymentRequest.due_date < now.date())
        .order_by(PaymentRequest.due_date, PaymentRequest.id).limit(LIST_LIMIT)))
    health = WebhookHealth(merchant.webhook_url, merchant.webhook_disabled_at)
    if merchant.webhook_url:
        since = now - HEALTH_WINDOW
        health.by_status = {str(getattr(status, "value", status)): count
                            for status, count in session.execute(
                                select(WebhookDelivery.status, func.count())
                                .where(WebhookDelivery.merchant_id == merchant.id,
                                       WebhookDelivery.created_at >= since)
                                .group_by(WebhookDelivery.status))}
        health.failed = [(delivery, event) for delivery, event in session.execute(
            select(WebhookDelivery, Event).join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.merchant_id == merchant.id,
                   WebhookDelivery.status == DeliveryStatus.FAILED)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(LIST_LIMIT))]
    return Dashboard(by_status, int(collected_count), int(collected_cents), int(failed_this_month),
                     failed_debits, overdue, health)
