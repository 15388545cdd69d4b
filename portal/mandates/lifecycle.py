"""The mandate state machine: a table of allowed transitions and the one function applying them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.service import AuditEntry, record_audit, record_audits
from portal.events.service import emit_event, emit_events
from portal.mandates.models import Mandate, MandateStatus

S = MandateStatus


class MandateAction(enum.StrEnum):
    #: The customer filled in the form and consented; verification has started (or restarted).
    SUBMIT = "submit"
    #: The provider or bank confirmed; the mandate may be used for collections.
    ACTIVATE = "activate"
    #: Verification failed for good (e.g. the bank rejected a B2B mandate).
    FAIL = "fail"
    #: Withdrawn before it became active (by the merchant or staff).
    CANCEL = "cancel"
    #: Ended after activation, by the debtor, the merchant or the bank.
    REVOKE = "revoke"
    #: Never signed in time, or unused for 36 months after activation.
    EXPIRE = "expire"
    #: Debtor account, name or reference changed on an active mandate.
    AMEND = "amend"
    #: Signed elsewhere (another provider, paper) and imported from a CSV batch: a new
    #: mandate that is active at once (``portal/batches``).
    IMPORT = "import"


A = MandateAction

#: (current status, action) → next status. Anything absent is illegal.
TRANSITIONS: dict[tuple[MandateStatus, MandateAction], MandateStatus] = {
    (S.INVITED, A.SUBMIT): S.AWAITING_VERIFICATION,
    (S.INVITED, A.CANCEL): S.CANCELLED,
    (S.INVITED, A.EXPIRE): S.EXPIRED,
    (S.INVITED, A.IMPORT): S.ACTIVE,
    (S.AWAITING_VERIFICATION, A.SUBMIT): S.AWAITING_VERIFICATION,
    (S.AWAITING_VERIFICATION, A.ACTIVATE): S.ACTIVE,
    (S.AWAITING_VERIFICATION, A.FAIL): S.FAILED,
    (S.AWAITING_VERIFICATION, A.CANCEL): S.CANCELLED,
    (S.AWAITING_VERIFICATION, A.EXPIRE): S.EXPIRED,
    (S.ACTIVE, A.AMEND): S.ACTIVE,
    (S.ACTIVE, A.REVOKE): S.REVOKED,
    (S.ACTIVE, A.EXPIRE): S.EXPIRED,
}

#: Transitions the merchant has already been told about: the customer consenting again to retry
#: a failed cent is audited, but the mandate was signed once (``mandate.signed``) and is still
#: awaiting verification; the failed cent itself was ``mandate.verification_failed``.
UNANNOUNCED: frozenset[tuple[MandateStatus, MandateAction]] = frozenset({
    (S.AWAITING_VERIFICATION, A.SUBMIT),
})

#: The merchant event each action emits.
EVENT_TYPES: dict[MandateAction, str] = {
    A.SUBMIT: "mandate.signed",
    A.ACTIVATE: "mandate.active",
    A.FAIL: "mandate.failed",
    A.CANCEL: "mandate.cancelled",
    A.REVOKE: "mandate.revoked",
    A.EXPIRE: "mandate.expired",
    A.AMEND: "mandate.amended",
    A.IMPORT: "mandate.imported",
}


class IllegalTransition(Exception):
    """The action is not allowed from the mandate's current status."""

    def __init__(self, status: MandateStatus, action: MandateAction) -> None:
        super().__init__(f"cannot {action.value} a mandate that is {status.value}")
        self.status = status
        self.action = action


def can_apply(mandate: Mandate, action: MandateAction) -> bool:
    return (mandate.status, action) in TRANSITIONS


def target_of(status: MandateStatus, action: MandateAction) -> MandateStatus:
    """The status the table gives ``status`` under ``action``; IllegalTransition if none."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise IllegalTransition(status, action)
    return target


@dataclass(frozen=True)
class Moved:
    """A mandate a bulk writer wrote with the status :func:`target_of` gave it (an import
    inserts its mandates already moved, instead of inserting then updating each)."""

    public_id: str
    merchant_id: int
    previous: MandateStatus
    target: MandateStatus
    #: What the audit event records beside ``from`` and ``to``.
    data: dict[str, Any] = field(default_factory=dict)


def announce_transitions(session: Session, moved: Sequence[Moved], action: MandateAction, *,
                         actor: str, now: datetime) -> None:
    """What :func:`apply_transition` writes beside the status, for many mandates at once: per
    mandate the same audit event (the chain advanced in one step) and, unless
    :data:`UNANNOUNCED`, the same merchant event with its webhook delivery, in bulk."""
    for item in moved:
        if TRANSITIONS.get((item.previous, action)) is not item.target:
            raise IllegalTransition(item.previous, action)
    record_audits(session, [
        AuditEntry(action=f"mandate.{action.value}", subject=item.public_id, actor=actor,
                   merchant_id=item.merchant_id,
                   data={"from": item.previous.value, "to": item.target.value, **item.data})
        for item in moved], now=now)
    announced: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for item in moved:
        if (item.previous, action) not in UNANNOUNCED:
            announced.setdefault(item.merchant_id, []).append((item.public_id, {
                "mandate": item.public_id, "status": item.target.value,
                "previous_status": item.previous.value}))
    for merchant_id, items in announced.items():
        emit_events(session, merchant_id=merchant_id, type=EVENT_TYPES[action], items=items,
                    now=now)


def apply_transition(
    session: Session,
    mandate: Mandate,
    action: MandateAction,
    *,
    actor: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> MandateStatus:
    """Move the mandate, writing its audit event and (unless :data:`UNANNOUNCED`) its merchant
    event in the same transaction."""
    target = target_of(mandate.status, action)
    previous = mandate.status
    mandate.status = target
    mandate.updated_at = now
    details = {"from": previous.value, "to": target.value, **(data or {})}
    record_audit(
        session,
        action=f"mandate.{action.value}",
        subject=mandate.public_id,
        actor=actor,
        merchant_id=mandate.merchant_id,
        data=details,
        now=now,
    )
    if (previous, action) not in UNANNOUNCED:
        emit_event(
            session,
            merchant_id=mandate.merchant_id,
            type=EVENT_TYPES[action],
            subject=mandate.public_id,
            data={"mandate": mandate.public_id, "status": target.value,
                  "previous_status": previous.value},
            now=now,
        )
    return target
