"""The reminder schedule and the rules for whether a reminder still goes out.

Reminders are queued as jobs when the invitation is first handed over, one per channel and
day; each job re-checks the invitation when it runs, so stopping needs no bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.jobs.service import enqueue
from portal.mandates.delivery import awaits_signature, invitation_by_id
from portal.mandates.models import DeliveryState, Invitation, InvitationChannel
from portal.merchants.models import Merchant

EMAIL_REMINDER_JOB = "mail.reminder"
SMS_REMINDER_JOB = "sms.reminder"
#: At most this many reminders, each at most this many days after sending.
MAX_REMINDERS = 5
MAX_DAY = 90


class ScheduleError(ValueError):
    """A reminder schedule the portal will not keep."""


def validate_schedule(days: list[int]) -> list[int]:
    """Sorted distinct whole days, 1 to 90, at most five of them."""
    if any(type(day) is not int or not 1 <= day <= MAX_DAY for day in days):
        raise ScheduleError(f"reminder days must be whole days from 1 to {MAX_DAY}")
    clean = sorted(set(days))
    if len(clean) > MAX_REMINDERS:
        raise ScheduleError(f"at most {MAX_REMINDERS} reminders")
    return clean


def reminder_days(merchant: Merchant) -> list[int]:
    """The merchant's schedule, or the portal's ``REMINDER_DAYS``."""
    if merchant.reminder_days is not None:
        return list(merchant.reminder_days)
    return list(current_app.config["REMINDER_DAYS"])


def reminder_channels(invitation: Invitation) -> list[str]:
    """Email whenever the customer has an address; SMS too when the invitation went by SMS."""
    customer = invitation.mandate.customer
    channels = [InvitationChannel.EMAIL.value] if customer.email else []
    if invitation.channel == InvitationChannel.SMS and customer.phone:
        channels.append(InvitationChannel.SMS.value)
    return channels


def schedule_reminders(session: Session, invitation: Invitation, sent_at: datetime) -> None:
    """Queue one job per reminder and channel, on the schedule counted from ``sent_at``; days
    falling after the invitation's expiry are skipped. Idempotent (dedupe keys)."""
    kinds = {InvitationChannel.EMAIL.value: EMAIL_REMINDER_JOB,
             InvitationChannel.SMS.value: SMS_REMINDER_JOB}
    for number, day in enumerate(reminder_days(invitation.merchant), start=1):
        run_at = sent_at + timedelta(days=day)
        if run_at >= invitation.expires_at:
            break
        for channel in reminder_channels(invitation):
            kind = kinds[channel]
            enqueue(session, kind, {"invitation": invitation.public_id, "reminder": number},
                    dedupe_key=reminder_job_key(kind, invitation.public_id, number),
                    run_at=run_at)


def reminder_job_key(kind: str, invitation_id: str, number: int) -> str:
    return f"{kind}:{invitation_id}:{number}"


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


def deliver_invitation(session: Session, public_id: str, address: Callable[[Invitation], str | None],
                       send: Callable[[Invitation], bool]) -> None:
    """Send an invitation on one channel unless it has no address there or can no longer be
    used; the first hand-over (``send`` returns True) starts the reminder schedule."""
    invitation = invitation_by_id(session, public_id)
    if invitation is None or not address(invitation):
        return
    if not awaits_signature(invitation, clock_now()):
        return
    first = invitation.sent_at is None
    if send(invitation) and first:
        schedule_reminders(session, invitation, invitation.sent_at)
