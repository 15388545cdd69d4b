"""Audit events take their place in the chain when the session flushes: all events recorded
since the last flush under one bump of the head, none of those a rollback discards."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditChainHead, AuditEvent
from portal.audit.service import record_audit, verify_chain
from tests.factories import make_merchant
from tests.queries import counted_queries


def _record(session: Session, subject: str, *steps: str) -> None:
    for step in steps:
        record_audit(session, action=f"test.{step}", subject=subject, actor="test")


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_events_of_one_flush_bump_the_head_once_in_the_order_recorded(
        app: Flask, session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    with counted_queries(app) as statements:
        _record(session, merchant.public_id, "one", "two", "three")
        assert statements == []  # nothing is written before the flush
        session.commit()
    head_writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE AUDIT_CHAIN_HEAD")]
    assert len(head_writes) == 2  # the bump and the new hash, whatever the number of events
    assert _actions(session)[-3:] == ["test.one", "test.two", "test.three"]
    head = session.get(AuditChainHead, 1)
    last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert (head.seq, head.hash) == (last.seq, last.hash)
    assert verify_chain(session).ok


def test_a_query_in_between_chains_what_was_recorded_before_it(session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    _record(session, merchant.public_id, "before")
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "test.before"))
    _record(session, merchant.public_id, "after")
    session.commit()
    assert _actions(session)[-2:] == ["test.before", "test.after"]
    assert verify_chain(session).ok


def test_a_rollback_discards_the_unchained_events(session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    _record(session, merchant.public_id, "undone")
    session.rollback()
    _record(session, merchant.public_id, "kept")
    session.commit()
    actions = _actions(session)
    assert "test.undone" not in actions and actions[-1] == "test.kept"
    assert verify_chain(session).ok


def test_a_savepoint_rolled_back_discards_only_its_own_events(session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    _record(session, merchant.public_id, "outer")
    savepoint = session.begin_nested()
    _record(session, merchant.public_id, "inner")
    savepoint.rollback()
    _record(session, merchant.public_id, "later")
    session.commit()
    actions = _actions(session)
    assert actions[-2:] == ["test.outer", "test.later"] and "test.inner" not in actions
    assert verify_chain(session).ok
