"""Whether a queued reminder still goes out, and unsubscribing from reminders.

Reminders are queued as jobs when the invitation is first handed over
(:mod:`portal.mandates.schedule`); each job re-checks the invitation when it runs, so stopping
needs no bookkeeping."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.mandates.delivery import awaits_signature
from portal.mandates.models import DeliveryState, Invitation


def reminder_due(invitation: Invitation, now: datetime) -> bool:
    """A queued reminder still goes out: unsigned, open, reachable and not unsubscribed."""
    return (awaits_signature(invitation, now) and invitation.unsubscribed_at is None
            and invitation.delivery_status != DeliveryState.FAILED)


def unsubscribe_url(code: str) -> str:
    """Where a reminder's List-Unsubscribe points: beside the invitation's short link."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/s/{code}/unsubscribe"


def unsubscribe(session: Session, invitation: Invitation, now: datetime) -> bool:
    """Stop the invitation's reminders; True the first time."""
    if invitation.unsubscribed_at is not None:
        return False
    invitation.unsubscribed_at = now
    record_audit(session, action="invitation.unsubscribe", subject=invitation.public_id,
                 actor="customer", merchant_id=invitation.merchant_id, now=now)
    return True
