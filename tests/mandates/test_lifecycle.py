"""The mandate state machine: every allowed transition works, every other one is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.events.models import Event
from portal.mandates.lifecycle import (
    EVENT_TYPES,
    TRANSITIONS,
    UNANNOUNCED,
    IllegalTransition,
    MandateAction,
    apply_transition,
)
from portal.mandates.models import Mandate, MandateStatus
from tests.factories import make_invitation

ALL_PAIRS = [(status, action) for status in MandateStatus for action in MandateAction]
ALLOWED = [pair for pair in ALL_PAIRS if pair in TRANSITIONS]
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def _mandate_in(session: Session, status: MandateStatus) -> Mandate:
    mandate = make_invitation(session).mandate
    mandate.status = status
    session.commit()
    return mandate


def _counts(session: Session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(AuditEvent)),
            session.scalar(select(func.count()).select_from(Event)))


@pytest.mark.parametrize(("status", "action"), ALLOWED, ids=lambda v: v.value)
def test_allowed_transition_moves_and_writes_one_audit_and_one_event(
        session: Session, status: MandateStatus, action: MandateAction) -> None:
    mandate = _mandate_in(session, status)
    audits, events = _counts(session)

    target = apply_transition(session, mandate, action, actor="test", now=utcnow())
    session.commit()

    assert mandate.status == target == TRANSITIONS[(status, action)]
    announced = (status, action) not in UNANNOUNCED
    assert _counts(session) == (audits + 1, events + announced)
    audit = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (audit.action, audit.subject) == (f"mandate.{action.value}", mandate.public_id)
    assert audit.data["from"] == status.value and audit.data["to"] == target.value
    if announced:
        event = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert event.type == EVENT_TYPES[action] and event.subject == mandate.public_id


def test_only_the_retry_of_a_signature_goes_unannounced() -> None:
    assert UNANNOUNCED == {(MandateStatus.AWAITING_VERIFICATION, MandateAction.SUBMIT)}


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=lambda v: v.value)
def test_illegal_transition_raises_and_writes_nothing(
        session: Session, status: MandateStatus, action: MandateAction) -> None:
    mandate = _mandate_in(session, status)
    before = _counts(session)

    with pytest.raises(IllegalTransition):
        apply_transition(session, mandate, action, actor="test", now=utcnow())
    session.commit()

    assert mandate.status == status
    assert _counts(session) == before


def test_terminal_statuses_allow_nothing() -> None:
    terminal = {MandateStatus.REVOKED, MandateStatus.CANCELLED, MandateStatus.EXPIRED,
                MandateStatus.FAILED}
    assert not [pair for pair in TRANSITIONS if pair[0] in terminal]


def test_transition_rolls_back_with_the_transaction(session: Session) -> None:
    mandate = _mandate_in(session, MandateStatus.INVITED)
    before = _counts(session)
    apply_transition(session, mandate, MandateAction.SUBMIT, actor="test", now=utcnow())
    session.rollback()
    session.expire_all()
    assert session.get(Mandate, mandate.id).status == MandateStatus.INVITED
    assert _counts(session) == before
