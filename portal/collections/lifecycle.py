"""The debit state machine: a table of allowed transitions and the one function applying them,
writing the audit event and the merchant event in the caller's transaction."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.collections.models import Debit, DebitStatus
from portal.events.service import emit_event

S = DebitStatus


class DebitAction(enum.StrEnum):
    #: Written into an exported pain.008 file, or created as a provider payment.
    SUBMIT = "submit"
    COLLECT = "collect"
    #: Refused before settlement (pain.002 RJCT, a provider payment that failed).
    REJECT = "reject"
    #: Returned after settlement with an R-code.
    RETURN = "return"
    #: The debtor claimed a refund (MD06) or the provider reported a chargeback.
    REFUND = "refund"
    #: A temporary failure: planned again for a later date (2nd, 3rd attempt).
    RETRY = "retry"
    #: The amount to collect changed before export (a partial payment); status unchanged.
    REDUCE = "reduce"
    CANCEL = "cancel"


A = DebitAction

#: (current status, action) → next status. Anything absent is illegal.
TRANSITIONS: dict[tuple[DebitStatus, DebitAction], DebitStatus] = {
    (S.SCHEDULED, A.SUBMIT): S.SUBMITTED,
    (S.SCHEDULED, A.REDUCE): S.SCHEDULED,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.SUBMITTED, A.COLLECT): S.COLLECTED,
    (S.SUBMITTED, A.REJECT): S.REJECTED,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.SUBMITTED, A.REFUND): S.REFUNDED,
    (S.COLLECTED, A.RETURN): S.RETURNED,
    (S.COLLECTED, A.REFUND): S.REFUNDED,
    (S.REJECTED, A.RETRY): S.SCHEDULED,
    (S.RETURNED, A.RETRY): S.SCHEDULED,
}

#: The merchant event each action emits (REDUCE has none of its own: the debit's amount is
#: audited, and the payment that caused it has its own events).
EVENT_TYPES: dict[DebitAction, str] = {
    A.SUBMIT: "debit.submitted",
    A.COLLECT: "debit.collected",
    A.REJECT: "debit.failed",
    A.RETURN: "debit.failed",
    A.REFUND: "debit.refunded",
    A.RETRY: "debit.retry_scheduled",
    A.CANCEL: "debit.cancelled",
}

#: Where a debit has come to rest (retries aside).
SETTLED = frozenset({S.COLLECTED, S.REJECTED, S.RETURNED, S.REFUNDED, S.CANCELLED})


class IllegalDebitTransition(Exception):
    """The action is not allowed from the debit's current status."""

    def __init__(self, status: DebitStatus, action: DebitAction) -> None:
        super().__init__(f"cannot {action.value} a debit that is {status.value}")
        self.status = status
        self.action = action


def can_apply(debit: Debit, action: DebitAction) -> bool:
    return (debit.status, action) in TRANSITIONS


def apply_transition(
    session: Session,
    debit: Debit,
    action: DebitAction,
    *,
    actor: str,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> DebitStatus:
    """Move the debit, writing its audit event and merchant event in the same transaction."""
    target = TRANSITIONS.get((debit.status, action))
    if target is None:
        raise IllegalDebitTransition(debit.status, action)
    now = now or clock_now()
    previous = debit.status
    debit.status = target
    debit.updated_at = now
    details = {"from": previous.value, "to": target.value, **(data or {})}
    # The audit chain's head is bumped with a statement of its own; it needs nothing pending,
    # so pending rows wait for the caller's flush (an import of many lines then writes them in
    # batches instead of one flush per line).
    with session.no_autoflush:
        record_audit(session, action=f"debit.{action.value}", subject=debit.public_id,
                     actor=actor, merchant_id=debit.merchant_id, data=details, now=now)
    event_type = EVENT_TYPES.get(action)
    if event_type is not None:
        emit_event(session, merchant_id=debit.merchant_id, type=event_type,
                   subject=debit.public_id, now=now, data=debit_event_data(debit, data))
    return target


def debit_event_data(debit: Debit, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every debit event carries: ids, status, amount, date, attempt; plus ``extra``."""
    return {
        "debit": debit.public_id,
        "mandate": debit.mandate.public_id,
        "status": debit.status.value,
        "amount": debit.amount_cents,
        "collection_date": debit.collection_date.isoformat(),
        "sequence_type": debit.sequence_type.value,
        "attempt": debit.attempt,
        **(extra or {}),
    }
