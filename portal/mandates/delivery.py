"""What happened to the messages carrying an invitation (email, SMS): queued, sent (told to the
merchant once), or failed for good; the retry schedule while a message cannot be handed over; and
the one rule whether an invitation still goes out (:func:`deliver_invitation`).

Channels call these from their jobs; the state lives on the invitation so the merchant sees it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.jobs.models import Job
from portal.jobs.service import RetryLater
from portal.mandates.models import DeliveryState, Invitation, MandateStatus
from portal.mandates.schedule import schedule_reminders
from portal.transports import Deferred, Rejected

ERROR_LENGTH = 300


@dataclass(frozen=True)
class DeliverySettings:
    """The portal's delivery rules: seconds between attempts to hand over a message that failed
    temporarily (``DELIVERY_RETRY_SCHEDULE``), and the default reminder days (``REMINDER_DAYS``)."""

    retry_schedule: tuple[float, ...]
    reminder_days: tuple[int, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        return cls(tuple(float(s) for s in config["DELIVERY_RETRY_SCHEDULE"]),
                   tuple(int(d) for d in config["REMINDER_DAYS"]))


def invitation_by_id(session: Session, public_id: str) -> Invitation | None:
    """The invitation a job names (jobs carry public ids)."""
    return session.scalar(select(Invitation).where(Invitation.public_id == public_id))


def awaits_signature(invitation: Invitation, now: datetime) -> bool:
    """True while the customer can still sign and has not started to: only then is a message
    about it (the invitation, a reminder) worth sending."""
    return (invitation.withdrawn_at is None and invitation.used_at is None
            and invitation.expires_at > now
            and invitation.mandate.status == MandateStatus.INVITED)


def _why_not_needed(invitation: Invitation, now: datetime) -> str:
    """Why an invitation that no longer awaits a signature need not be sent."""
    if invitation.used_at is not None or invitation.mandate.status in (
            MandateStatus.AWAITING_VERIFICATION, MandateStatus.ACTIVE):
        return "signed"
    if invitation.withdrawn_at is not None:
        return "withdrawn"
    if invitation.expires_at <= now or invitation.mandate.status == MandateStatus.EXPIRED:
        return "expired"
    return "closed"


def record_not_sent(session: Session, invitation: Invitation, channel: str, *,
                    now: datetime) -> None:
    """A queued message is not sent because nobody needs it any more (the customer signed, or
    the invitation was withdrawn or expired first); the merchant hears why, once
    (``invitation.not_sent``), and the state no longer says ``queued``."""
    if invitation.delivery_status != DeliveryState.QUEUED:
        return
    reason = _why_not_needed(invitation, now)
    invitation.delivery_status = (DeliveryState.NOT_SENT_SIGNED if reason == "signed"
                                  else DeliveryState.NOT_SENT_CLOSED)
    invitation.delivery_error = None
    record_audit(session, action="invitation.not_sent", subject=invitation.public_id,
                 actor="system", merchant_id=invitation.merchant_id, now=now,
                 data={"channel": channel, "reason": reason})
    emit_event(session, merchant_id=invitation.merchant_id, type="invitation.not_sent",
               subject=invitation.public_id, now=now,
               data={"invitation": invitation.public_id, "mandate": invitation.mandate.public_id,
                     "channel": channel, "reason": reason})


def mark_queued(invitation: Invitation) -> None:
    """The invitation message waits for a worker."""
    invitation.delivery_status = DeliveryState.QUEUED
    invitation.delivery_error = None


def record_sent(session: Session, invitation: Invitation, channel: str, message_id: str, *,
                now: datetime, reminder: int | None = None) -> bool:
    """Note a handed-over message; the first time the invitation itself goes out, emit
    ``invitation.sent``. True if this was that first time."""
    data = {"channel": channel, "message_id": message_id}
    if reminder is not None:
        record_audit(session, action="invitation.reminder_sent", subject=invitation.public_id,
                     actor="system", merchant_id=invitation.merchant_id, now=now,
                     data={**data, "reminder": reminder})
        return False
    first = invitation.sent_at is None
    invitation.delivery_status = DeliveryState.SENT
    invitation.delivery_error = None
    invitation.sent_at = invitation.sent_at or now
    record_audit(session, action="invitation.sent", subject=invitation.public_id, actor="system",
                 merchant_id=invitation.merchant_id, now=now, data=data)
    if first:
        emit_event(session, merchant_id=invitation.merchant_id, type="invitation.sent",
                   subject=invitation.public_id, now=now,
                   data={"invitation": invitation.public_id,
                         "mandate": invitation.mandate.public_id, "channel": channel})
    return first


def record_failure(session: Session, invitation: Invitation, channel: str, error: str, *,
                   now: datetime, reminder: int | None = None) -> None:
    """A message was refused for good (or given up on): the invitation's delivery failed, which
    also stops its reminders. The merchant hears of it once (``invitation.delivery_failed``)."""
    already = invitation.delivery_status == DeliveryState.FAILED
    invitation.delivery_status = DeliveryState.FAILED
    invitation.delivery_error = f"{channel}: {error}"[:ERROR_LENGTH]
    details = {"channel": channel, "error": error[:ERROR_LENGTH], "reminder": reminder}
    record_audit(session, action="invitation.delivery_failed", subject=invitation.public_id,
                 actor="system", merchant_id=invitation.merchant_id, now=now, data=details)
    if not already:
        emit_event(session, merchant_id=invitation.merchant_id, type="invitation.delivery_failed",
                   subject=invitation.public_id, now=now,
                   data={"invitation": invitation.public_id,
                         "mandate": invitation.mandate.public_id, **details})


def retry_or_give_up(session: Session, invitation: Invitation, channel: str, error: str, *,
                     job_key: str, now: datetime, schedule: tuple[float, ...],
                     reminder: int | None = None) -> NoReturn:
    """After a temporary failure: try again on the retry schedule, or once it has run out,
    record the failure and stop. Commits what it records, then raises :class:`RetryLater`."""
    attempt = session.scalar(select(Job.attempts).where(Job.dedupe_key == job_key)) or 1
    if attempt > len(schedule):
        reason = f"gave up after {attempt} attempts: {error}"
        record_failure(session, invitation, channel, reason, now=now, reminder=reminder)
        session.commit()
        raise RetryLater(reason)
    if reminder is None:
        invitation.delivery_error = f"{channel}: {error}"[:ERROR_LENGTH]
        session.commit()
    raise RetryLater(error, at=now + timedelta(seconds=float(schedule[attempt - 1])))


def hand_over(session: Session, invitation: Invitation, channel: str, send: Callable[[], str],
              *, job_key: str, now: datetime, settings: DeliverySettings,
              reminder: int | None = None) -> bool:
    """Send one message about the invitation through ``send`` (returns the transport's message
    id) and record the outcome; True if handed over. A deferral reschedules the job."""
    try:
        message_id = send()
    except Rejected as exc:
        record_failure(session, invitation, channel, str(exc), now=now, reminder=reminder)
        return False
    except Deferred as exc:
        retry_or_give_up(session, invitation, channel, str(exc), job_key=job_key, now=now,
                         schedule=settings.retry_schedule, reminder=reminder)
    record_sent(session, invitation, channel, message_id, now=now, reminder=reminder)
    return True


def deliver_invitation(session: Session, public_id: str, channel: str,
                       address: Callable[[Invitation], str | None],
                       send: Callable[[Invitation], bool], *, now: datetime,
                       settings: DeliverySettings) -> None:
    """Send an invitation on one channel; the first hand-over (``send`` returns True) starts
    the reminder schedule. An invitation nobody needs any more is recorded as not sent, one
    without an address there as failed: the state never stays ``queued``."""
    invitation = invitation_by_id(session, public_id)
    if invitation is None:
        return
    if not awaits_signature(invitation, now):
        record_not_sent(session, invitation, channel, now=now)
        return
    if not address(invitation):
        record_failure(session, invitation, channel, f"the customer has no {channel} address",
                       now=now)
        return
    first = invitation.sent_at is None
    if send(invitation) and first and invitation.sent_at is not None:
        schedule_reminders(session, invitation, invitation.sent_at, settings.reminder_days)
