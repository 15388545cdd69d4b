"""What a failed collection leads to: a retry on the day most likely to succeed, or, for good,
the mandate's and customer's consequences and a pay link for the open amount.

Temporary reasons (AM04 insufficient funds, MS03 reason not specified) are presented a 2nd and
a 3rd time after the merchant's delays (5 and 10 days by default). Permanent reasons never
retry: AC04 closed account marks the mandate unusable (and can invite the debtor to sign again
with a new account), MD01 revokes the mandate, MD06 records the debtor's refund, SL01 flags the
customer. After the last failure the customer gets a pay link.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.collections.calendar import bank_today, earliest_collection_date, retry_date
from portal.collections.followups import AmendmentInvitations, PayLinks
from portal.collections.lifecycle import DebitAction, apply_transition, debit_event_data
from portal.collections.models import (
    CollectionFlag,
    Debit,
    DebitAttempt,
    DebitStatus,
    FlagCode,
)
from portal.collections.reasons import Consequence, consequence, reason_text
from portal.collections.routes import CollectionPolicy
from portal.collections.service import (
    MAX_ATTEMPTS,
    effective_settings,
    open_flag,
    queue_prenotification,
    sequence_type_for,
)
from portal.events.service import emit_event
from portal.mandates.lifecycle import MandateAction
from portal.mandates.lifecycle import apply_transition as apply_mandate_transition
from portal.mandates.lifecycle import can_apply as mandate_can_apply
from portal.mandates.models import MandateStatus

ACTIONS = {DebitStatus.REJECTED: DebitAction.REJECT, DebitStatus.RETURNED: DebitAction.RETURN,
           DebitStatus.REFUNDED: DebitAction.REFUND}


@dataclass(frozen=True)
class FailureOutcome:
    will_retry: bool
    retry_on: date | None
    pay_link: str | None
    invitation: str | None


def usual_collection_day(session: Session, mandate_id: int) -> int | None:
    """The day of the month this debtor's collections most often succeeded on, if any did."""
    days = session.scalars(select(DebitAttempt.collection_date).where(
        DebitAttempt.mandate_id == mandate_id,
        DebitAttempt.outcome == DebitStatus.COLLECTED)).all()
    if not days:
        return None
    counts = Counter(day.day for day in days)
    best = max(counts.values())
    return min(day for day, count in counts.items() if count == best)


def record_failure(session: Session, attempt: DebitAttempt, outcome: DebitStatus,
                   code: str | None, text: str | None, *, policy: CollectionPolicy,
                   pay_links: PayLinks, invitations: AmendmentInvitations, actor: str,
                   now: datetime | None = None) -> FailureOutcome:
    """Apply a rejection, return or refund of the debit's current attempt and everything it
    leads to, in the caller's transaction."""
    now = now or clock_now()
    debit = attempt.debit
    text = reason_text(code, text)
    attempt.outcome, attempt.reason_code, attempt.reason_text = outcome, code, text
    attempt.settled_at = now
    settings = effective_settings(session, debit.merchant_id, policy)
    effect = consequence(code)
    if outcome == DebitStatus.REFUNDED:
        effect = Consequence.REFUND
    today = bank_today(now)
    will_retry = effect == Consequence.RETRY and debit.attempt < MAX_ATTEMPTS
    retry_on = None
    if will_retry:
        delays = settings.retry_delays_days
        delay = delays[min(debit.attempt - 1, len(delays) - 1)] if delays else 0
        retry_on = max(retry_date(today, delay, usual_day=usual_collection_day(
                           session, debit.mandate_id)),
                       earliest_collection_date(today, lead_days=settings.lead_days,
                                                prenotification_days=0))
    debit.reason_code, debit.reason_text, debit.will_retry = code, text, will_retry
    invitation = None
    if effect == Consequence.MANDATE_UNUSABLE:
        invitation = _mark_unusable(session, debit, code, text, settings.amendment_invitations,
                                    invitations, now)
    elif effect == Consequence.REVOKE_MANDATE and mandate_can_apply(debit.mandate,
                                                                    MandateAction.REVOKE):
        apply_mandate_transition(session, debit.mandate, MandateAction.REVOKE,
                                 actor=actor, now=now,
                                 data={"reason": f"{code}: {text}", "debit": debit.public_id})
    elif effect == Consequence.FLAG_CUSTOMER:
        _flag(session, debit, FlagCode.DEBTOR_BANK_SERVICE, f"{code}: {text}", now)
        emit_event(session, merchant_id=debit.merchant_id, type="customer.flagged",
                   subject=debit.customer.public_id, now=now,
                   data={"customer": debit.customer.public_id, "reason_code": code,
                         "reason": text, "debit": debit.public_id})
    pay_link = None
    if not will_retry and effect != Consequence.REFUND:
        pay_link = pay_links.issue(session, debit, now)
        debit.pay_link = pay_link
    data = {"reason_code": code, "reason": text, "will_retry": will_retry,
            "retry_collection_date": retry_on.isoformat() if retry_on else None,
            "end_to_end_id": attempt.end_to_end_id}
    if not will_retry and effect != Consequence.REFUND:
        data["pay_link"] = pay_link
    if invitation:
        data["amendment_invitation"] = invitation
    apply_transition(session, debit, ACTIONS[outcome], actor=actor, now=now, data=data)
    if will_retry and retry_on is not None:
        _schedule_retry(session, debit, retry_on, actor, now)
    return FailureOutcome(will_retry, retry_on, pay_link, invitation)


def _schedule_retry(session: Session, debit: Debit, retry_on: date, actor: str,
                    now: datetime) -> None:
    debit.attempt += 1
    debit.collection_date = retry_on
    debit.sequence_type = sequence_type_for(session, debit.mandate, final=debit.final)
    apply_transition(session, debit, DebitAction.RETRY, actor=actor, now=now,
                     data={"attempt": debit.attempt, "collection_date": retry_on.isoformat(),
                           "previous_reason_code": debit.reason_code})
    queue_prenotification(session, debit)


def _flag(session: Session, debit: Debit, code: FlagCode, reason: str, now: datetime,
          *, mandate: bool = False, invitation_id: int | None = None) -> CollectionFlag:
    flag = CollectionFlag(merchant_id=debit.merchant_id, customer_id=debit.customer_id,
                          mandate_id=debit.mandate_id if mandate else None, code=code,
                          reason=reason[:300], debit_id=debit.id, invitation_id=invitation_id,
                          created_at=now)
    session.add(flag)
    record_audit(session, action=f"collections.flag.{code.value}",
                 subject=debit.mandate.public_id if mandate else debit.customer.public_id,
                 actor="collections", merchant_id=debit.merchant_id, now=now,
                 data={"reason": reason, "debit": debit.public_id})
    return flag


def _mark_unusable(session: Session, debit: Debit, code: str | None, text: str | None,
                   send_invitation: bool, invitations: AmendmentInvitations,
                   now: datetime) -> str | None:
    """AC04: no more collections on this mandate; optionally invite the debtor to sign again."""
    if open_flag(session, FlagCode.ACCOUNT_CLOSED, mandate_id=debit.mandate_id) is not None:
        return None
    invitation_public_id = None
    invitation_id = None
    if send_invitation and debit.mandate.status == MandateStatus.ACTIVE:
        invitation_public_id = invitations.invite(session, debit, now)
        if invitation_public_id:
            from portal.mandates.models import Invitation

            invitation_id = session.scalar(select(Invitation.id).where(
                Invitation.public_id == invitation_public_id))
    _flag(session, debit, FlagCode.ACCOUNT_CLOSED, f"{code}: {text}", now, mandate=True,
          invitation_id=invitation_id)
    emit_event(session, merchant_id=debit.merchant_id, type="mandate.unusable",
               subject=debit.mandate.public_id, now=now,
               data={"mandate": debit.mandate.public_id, "reason_code": code, "reason": text,
                     "debit": debit.public_id, "amendment_invitation": invitation_public_id})
    return invitation_public_id


def record_collected(session: Session, attempt: DebitAttempt, *, actor: str,
                     now: datetime | None = None) -> None:
    """The money arrived for the debit's current attempt."""
    now = now or clock_now()
    attempt.outcome, attempt.settled_at = DebitStatus.COLLECTED, now
    debit = attempt.debit
    debit.will_retry = False
    apply_transition(session, debit, DebitAction.COLLECT, actor=actor, now=now,
                     data={"end_to_end_id": attempt.end_to_end_id})


__all__ = ["FailureOutcome", "debit_event_data", "record_collected", "record_failure",
           "usual_collection_day"]
