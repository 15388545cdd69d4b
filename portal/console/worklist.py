"""What a merchant's work page lists: the invitations and payment requests still open (to show,
resend or withdraw) and the active mandates to debit, amend or revoke; newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.mandates.models import Invitation, Mandate, MandateStatus
from portal.merchants.models import Merchant
from portal.payments.models import PaymentRequest, RequestStatus
from portal.subscriptions.models import Plan

#: Rows per list.
LIMIT = 15


@dataclass
class Worklist:
    invitations: list[Invitation]
    requests: list[PaymentRequest]
    mandates: list[Mandate]


def worklist(session: Session, merchant: Merchant, *, now: datetime) -> Worklist:
    invitations = list(session.scalars(
        select(Invitation).join(Mandate, Mandate.id == Invitation.mandate_id)
        .where(Invitation.merchant_id == merchant.id, Invitation.withdrawn_at.is_(None),
               Invitation.expires_at > now,
               Mandate.status.in_((MandateStatus.INVITED, MandateStatus.AWAITING_VERIFICATION)))
        .options(selectinload(Invitation.mandate).selectinload(Mandate.customer))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(LIMIT)))
    requests = list(session.scalars(
        select(PaymentRequest)
        .where(PaymentRequest.merchant_id == merchant.id,
               PaymentRequest.status.in_((RequestStatus.OPEN, RequestStatus.PARTLY_PAID)))
        .options(selectinload(PaymentRequest.customer))
        .order_by(PaymentRequest.created_at.desc(), PaymentRequest.id.desc()).limit(LIMIT)))
    mandates = list(session.scalars(
        select(Mandate).where(Mandate.merchant_id == merchant.id,
                              Mandate.status == MandateStatus.ACTIVE)
        .options(selectinload(Mandate.customer))
        .order_by(Mandate.updated_at.desc(), Mandate.id.desc()).limit(LIMIT)))
    return Worklist(invitations, requests, mandates)


def plan_choices(session: Session, merchant: Merchant) -> tuple[tuple[str, str], ...]:
    """The merchant's plans, for the subscription form's select."""
    return tuple((plan.public_id, plan.name) for plan in session.scalars(
        select(Plan).where(Plan.merchant_id == merchant.id).order_by(Plan.name, Plan.id)))
