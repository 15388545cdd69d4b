"""Append to and verify the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.audit.models import AuditChainHead, AuditEvent
from portal.clock import now as clock_now

GENESIS_HASH = "0" * 64


def _digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "merchant_id": event.merchant_id,
        "subject": event.subject,
        "action": event.action,
        "actor": event.actor,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_audit(
    session: Session,
    *,
    action: str,
    subject: str,
    actor: str,
    merchant_id: int | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction.

    Bumping the chain head first takes its row lock (PostgreSQL) or the write lock (SQLite), so
    concurrent appends queue up instead of forking the chain.
    """
    seq, prev_hash = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.hash)
        .execution_options(synchronize_session=False)
    ).one()
    event = AuditEvent(
        seq=seq,
        occurred_at=now or clock_now(),
        merchant_id=merchant_id,
        subject=subject,
        action=action,
        actor=actor,
        data=data or {},
        prev_hash=prev_hash,
    )
    event.hash = _digest(event)
    session.add(event)
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    return event


@dataclass
class ChainReport:
    """Outcome of :func:`verify_chain`: ``ok`` and, if not, what is wrong where."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, batch_size: int = 1000) -> ChainReport:
    """Recompute every hash; report edited, inserted or deleted rows (tail deletion included)."""
    report = ChainReport()
    expected_seq, prev_hash = 1, GENESIS_HASH
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(
        yield_per=batch_size))
    for event in rows:
        report.checked += 1
        if event.seq != expected_seq:
            report.problems.append(
                f"seq {expected_seq}..{event.seq - 1} missing (rows deleted before seq {event.seq})"
            )
        elif event.prev_hash != prev_hash:
            report.problems.append(f"seq {event.seq}: previous hash does not match the chain")
        if _digest(event) != event.hash:
            report.problems.append(f"seq {event.seq}: content was edited (hash mismatch)")
        expected_seq, prev_hash = event.seq + 1, event.hash
    head = session.get(AuditChainHead, 1)
    if head is None:
        report.problems.append("chain head is missing")
    elif head.seq != expected_seq - 1 or head.hash != prev_hash:
        report.problems.append(
            f"chain head is at seq {head.seq} but the trail ends at seq {expected_seq - 1} "
            "(rows deleted at the end, or the head was edited)"
        )
    return report
