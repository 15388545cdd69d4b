"""The batch state machine: a table of allowed moves and the one function applying them, which
writes the audit event in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.batches.models import BatchStatus, CsvBatch

S = BatchStatus

#: current status → the statuses it may move to.
TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    # A job that failed for good leaves its batch INVALID (nothing was imported), from any
    # status but the two final ones.
    S.UPLOADED: frozenset({S.CHECKING, S.INVALID}),
    S.CHECKING: frozenset({S.VALID, S.INVALID}),
    S.VALID: frozenset({S.IMPORTING, S.INVALID}),
    # An import finding a row bad after all (another writer took its reference) writes nothing.
    S.IMPORTING: frozenset({S.IMPORTED, S.INVALID}),
    S.INVALID: frozenset(),
    S.IMPORTED: frozenset(),
}


class IllegalBatchTransition(Exception):
    def __init__(self, status: BatchStatus, target: BatchStatus) -> None:
        super().__init__(f"a batch that is {status.value} cannot become {target.value}")
        self.status = status
        self.target = target


def move_batch(session: Session, batch: CsvBatch, target: BatchStatus, *, actor: str,
               now: datetime, data: dict[str, Any] | None = None) -> None:
    if target not in TRANSITIONS[batch.status]:
        raise IllegalBatchTransition(batch.status, target)
    previous = batch.status
    batch.status = target
    batch.updated_at = now
    record_audit(session, action=f"batch.{target.value}", subject=batch.public_id, actor=actor,
                 merchant_id=batch.merchant_id, now=now,
                 data={"from": previous.value, "to": target.value, "kind": batch.kind.value,
                       "sha256": batch.sha256, **(data or {})})
