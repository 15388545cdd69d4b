"""Expiring invitations nobody signed: a job queued with the invitation for its ``expires_at``
moves the mandate to ``expired`` through the state machine and tells the merchant
(``invitation.expired``), once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.events.service import emit_event
from portal.jobs.service import RetryLater, job_handler
from portal.mandates.delivery import invitation_by_id
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import Mandate, MandateStatus
from portal.mandates.schedule import EXPIRY_JOB
from portal.verification.models import VerificationPayment

log = logging.getLogger(__name__)

#: A verification payment still open at expiry may yet succeed: wait for it this long, asking
#: again every ``RECHECK``, before leaving the mandate to the payment's outcome.
PAYMENT_GRACE = timedelta(days=2)
RECHECK = timedelta(hours=1)


def _payment_in_flight(session: Session, mandate: Mandate) -> bool:
    latest = session.scalar(select(VerificationPayment)
                            .where(VerificationPayment.mandate_id == mandate.id)
                            .order_by(VerificationPayment.id.desc()).limit(1))
    return latest is not None and not latest.status.is_final


@job_handler(EXPIRY_JOB)
def invitation_expiry_job(session: Session, payload: dict[str, Any]) -> None:
    expire_invitation(session, payload["invitation"], now=get_adapters().clock())


def expire_invitation(session: Session, public_id: str, *, now: datetime) -> None:
    """Expire the invitation if nobody signed it in time (once; RetryLater while too early or
    while a verification payment may still succeed)."""
    invitation = invitation_by_id(session, public_id)
    if invitation is None or invitation.withdrawn_at is not None or invitation.used_at:
        return
    if invitation.expires_at > now:
        raise RetryLater("not expired yet", at=invitation.expires_at)
    mandate = invitation.mandate
    if mandate.status not in (MandateStatus.INVITED, MandateStatus.AWAITING_VERIFICATION):
        return  # signed and active, cancelled, failed or already expired
    if mandate.status == MandateStatus.AWAITING_VERIFICATION and _payment_in_flight(
            session, mandate):
        if now < invitation.expires_at + PAYMENT_GRACE:
            raise RetryLater("verification payment still open", at=now + RECHECK)
        log.warning("invitation %s: verification payment still open %s after expiry; "
                    "left to the payment", invitation.public_id, PAYMENT_GRACE)
        return
    apply_transition(session, mandate, MandateAction.EXPIRE, actor="system", now=now,
                     data={"invitation": invitation.public_id,
                           "reason": "invitation expired unsigned"})
    emit_event(session, merchant_id=invitation.merchant_id, type="invitation.expired",
               subject=invitation.public_id, now=now,
               data={"invitation": invitation.public_id, "mandate": mandate.public_id})
