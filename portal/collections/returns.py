"""Importing a bank's report (pain.002, camt.054 or CSV): every line matched on its EndToEndId,
each debit collected, rejected, returned or refunded with its reason — all or nothing.

The file is read twice, streaming: first to check that every line names a debit of this
merchant (a file naming unknown debits is refused, reporting each such line, and changes
nothing), then to apply the lines in chunks. A file already imported (same SHA-256) changes
nothing and answers with its first import; a line repeating what is known is counted as
unchanged, so overlapping reports are safe too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.clock import now as clock_now
from portal.collections.files import sha256_of
from portal.collections.lifecycle import IllegalDebitTransition
from portal.collections.models import (
    Batch,
    Debit,
    DebitAttempt,
    DebitStatus,
    ReturnFormat,
    ReturnImport,
)
from portal.collections.reports import ReportError, ReportLine, message_id_of, read_report
from portal.collections.retries import record_collected, record_failure
from portal.collections.routes import Collectors
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id

CHUNK = 500
#: How many unknown lines a refusal lists (the count says how many there were in all).
MAX_REPORTED = 1000
OUTCOMES = ("collected", "rejected", "returned", "refunded", "accepted", "unchanged",
            "conflicting")


@dataclass(frozen=True)
class UnknownLine:
    position: int
    end_to_end_id: str | None
    reason: str


class UnknownDebits(Exception):
    """Some lines name no debit of this merchant; nothing was changed."""

    def __init__(self, lines: list[UnknownLine], total: int) -> None:
        super().__init__(f"{total} line(s) name no debit of this merchant; nothing was imported")
        self.lines = lines
        self.total = total


@dataclass
class ImportResult:
    report: ReturnImport
    #: True when this exact file had been imported before (nothing changed now).
    duplicate: bool
    counts: dict[str, int] = field(default_factory=dict)


def save_upload(stream: BinaryIO, target: Path, limit: int) -> int:
    """Copy an uploaded body to ``target`` in chunks; ValueError past ``limit`` bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"the file is larger than {limit} bytes")
            out.write(chunk)
    return size


def _chunks(lines: Iterable[ReportLine]) -> Iterator[list[ReportLine]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _attempts_by_e2e(session: Session, merchant_id: int, ids: set[str],
                     *, load: bool = False) -> dict[str, DebitAttempt]:
    query = select(DebitAttempt).where(DebitAttempt.merchant_id == merchant_id,
                                       DebitAttempt.end_to_end_id.in_(ids))
    if load:
        query = query.options(selectinload(DebitAttempt.debit).selectinload(Debit.mandate))
    return {a.end_to_end_id: a for a in session.scalars(query)}


def _batch_scope(session: Session, merchant_id: int, line: ReportLine) -> list[int] | None:
    """The attempt ids a whole-PmtInf or whole-message rejection covers, or None if unknown."""
    if line.scope == "group":
        batch = session.scalar(select(Batch).where(Batch.merchant_id == merchant_id,
                                                   Batch.message_id == line.reference))
        if batch is None:
            return None
        query = select(DebitAttempt.id).where(DebitAttempt.batch_id == batch.id)
    else:
        message, _, _number = (line.reference or "").rpartition("-")
        batch = session.scalar(select(Batch).where(Batch.merchant_id == merchant_id,
                                                   Batch.message_id == message))
        group = next((g for g in (batch.payment_groups if batch else [])
                      if g["id"] == line.reference), None)
        if batch is None or group is None:
            return None
        query = select(DebitAttempt.id).where(
            DebitAttempt.batch_id == batch.id,
            DebitAttempt.sequence_type == group["sequence_type"],
            DebitAttempt.collection_date == datetime.fromisoformat(
                group["collection_date"]).date())
    return list(session.scalars(query))


def check_lines(session: Session, merchant_id: int, lines: Iterable[ReportLine]) -> None:
    """Raise UnknownDebits listing every line that names no debit of this merchant."""
    unknown: list[UnknownLine] = []
    total = 0
    for chunk in _chunks(lines):
        ids = {line.end_to_end_id for line in chunk if line.end_to_end_id}
        known = set(_attempts_by_e2e(session, merchant_id, ids)) if ids else set()
        for line in chunk:
            reason = None
            if line.scope != "transaction":
                if _batch_scope(session, merchant_id, line) is None:
                    reason = f"no batch {line.reference!r}"
            elif not line.end_to_end_id:
                reason = "no EndToEndId"
            elif line.end_to_end_id not in known:
                reason = "no debit with this EndToEndId"
            if reason:
                total += 1
                if len(unknown) < MAX_REPORTED:
                    unknown.append(UnknownLine(line.position, line.end_to_end_id, reason))
    if total:
        raise UnknownDebits(unknown, total)


def apply_line(session: Session, attempt: DebitAttempt, line: ReportLine,
               collectors: Collectors, *, actor: str, now: datetime) -> str:
    """Apply one line to its attempt; returns what it did (one of :data:`OUTCOMES`)."""
    debit = attempt.debit
    outcome = line.outcome
    if outcome == "accepted":
        return "accepted"
    target = DebitStatus(outcome)
    if attempt.outcome == target and (attempt.reason_code or None) == (line.reason_code or None):
        return "unchanged"
    if attempt.number != debit.attempt or debit.status not in (
            DebitStatus.SUBMITTED, DebitStatus.COLLECTED):
        # About an earlier attempt, or the debit has moved on: keep what is known.
        return "unchanged" if attempt.outcome is not None else "conflicting"
    try:
        if target == DebitStatus.COLLECTED:
            if debit.status == DebitStatus.COLLECTED:
                return "unchanged"
            record_collected(session, attempt, actor=actor, now=now)
        else:
            record_failure(session, attempt, target, line.reason_code, line.reason_text,
                           policy=collectors.policy, pay_links=collectors.pay_links,
                           invitations=collectors.invitations, actor=actor, now=now)
    except IllegalDebitTransition:
        return "conflicting"
    return outcome


def import_report(session: Session, merchant_id: int, path: Path, collectors: Collectors, *,
                  source: str, actor: str, now: datetime | None = None) -> ImportResult:
    """Import the report at ``path`` for the merchant; raises ReportError (unreadable) or
    UnknownDebits (nothing changed). The caller commits."""
    now = now or clock_now()
    digest = sha256_of(path)
    existing = session.scalar(select(ReturnImport).where(
        ReturnImport.merchant_id == merchant_id, ReturnImport.file_sha256 == digest))
    if existing is not None:
        return ImportResult(existing, duplicate=True, counts=dict(existing.counts))
    kind, lines = read_report(path)
    check_lines(session, merchant_id, lines)
    counts = dict.fromkeys(OUTCOMES, 0)
    _kind, lines = read_report(path, kind)
    for chunk in _chunks(lines):
        ids = {line.end_to_end_id for line in chunk if line.end_to_end_id}
        attempts = _attempts_by_e2e(session, merchant_id, ids, load=True) if ids else {}
        for line in chunk:
            if line.scope == "transaction":
                targets = [attempts[line.end_to_end_id or ""]]
            else:
                targets = [found for attempt_id in _batch_scope(session, merchant_id, line) or []
                           if (found := session.get(DebitAttempt, attempt_id)) is not None]
            for attempt in targets:
                result = apply_line(session, attempt, line, collectors, actor=actor, now=now)
                counts[result] += 1
        # Flushed rows leave the session's (weak) identity map once this chunk's references
        # go: memory stays flat over big files.
        session.flush()
    report = ReturnImport(
        public_id=new_public_id("rti"), merchant_id=merchant_id, format=ReturnFormat(kind),
        file_sha256=digest, file_size=path.stat().st_size,
        message_id=message_id_of(path) if kind != "csv" else None, source=source,
        counts=counts, created_at=now)
    session.add(report)
    session.flush()
    keep_report(collectors, path, digest)
    emit_event(session, merchant_id=merchant_id, type="returns.imported",
               subject=report.public_id, now=now,
               data={"returns_import": report.public_id, "format": kind, "counts": counts,
                     "sha256": digest})
    return ImportResult(report, duplicate=False, counts=counts)


def keep_report(collectors: Collectors, path: Path, digest: str) -> None:
    """Keep the imported file as it was (it is the bank's evidence)."""
    temporary = collectors.store.temporary()
    shutil.copyfile(path, temporary)
    collectors.store.keep(temporary, digest)


def find_import(session: Session, merchant_id: int, public_id: str) -> ReturnImport | None:
    if not looks_like(public_id, "rti"):
        return None
    return session.scalar(select(ReturnImport).where(ReturnImport.public_id == public_id,
                                                     ReturnImport.merchant_id == merchant_id))


__all__ = ["ImportResult", "ReportError", "UnknownDebits", "UnknownLine", "find_import",
           "import_report", "save_upload"]
