"""The audit trail's hash chain: intact after use, broken by any edit or deletion."""

from __future__ import annotations

import threading

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from portal.audit.models import AuditChainHead, AuditEvent
from portal.audit.service import _event_hash, audit_keys_of, record_audit, verify_chain
from portal.db import session_scope
from tests.factories import make_merchant


def _trail(session: Session, n: int = 5) -> None:
    merchant = make_merchant(session)
    for i in range(n):
        record_audit(session, action="test.step", subject=merchant.public_id, actor="test",
                     merchant_id=merchant.id, data={"i": i, "name": "Zoë"})
    session.commit()


def test_fresh_trail_verifies(session: Session, runner: FlaskCliRunner) -> None:
    _trail(session)
    report = verify_chain(session)
    assert report.ok and report.checked == 6
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 6 events" in result.output


def test_edited_row_is_detected(session: Session, runner: FlaskCliRunner) -> None:
    _trail(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone else"))
    session.commit()
    report = verify_chain(session)
    assert any("seq 3: content was edited" in p for p in report.problems)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "seq 3" in result.output


def test_edited_data_with_recomputed_hash_breaks_the_link(session: Session) -> None:
    _trail(session)
    event = session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
    event.data = {"i": 99}
    event.hash = _event_hash(event, audit_keys_of(session))
    session.commit()
    assert any("seq 3: previous hash" in p for p in verify_chain(session).problems)


def test_deleted_middle_row_is_detected(session: Session, runner: FlaskCliRunner) -> None:
    _trail(session)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    session.commit()
    assert any("missing" in p for p in verify_chain(session).problems)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_deleted_last_row_is_detected(session: Session) -> None:
    _trail(session)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 6))
    session.commit()
    assert any("chain head" in p for p in verify_chain(session).problems)


def test_concurrent_appends_never_fork_the_chain(app: Flask, session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(n):
                with session_scope(app) as s:
                    record_audit(s, action="test.race", subject=merchant.public_id,
                                 actor="thread", data={"i": i})
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 41
    assert session.get(AuditChainHead, 1).seq == 41
    assert verify_chain(session).ok
