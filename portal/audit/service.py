"""Append to and verify the audit trail: a hash chain keyed with the audit key.

Each row carries the HMAC of its content and of the row before it, under the audit key it
names (``key_id``). Rows from before the chain was keyed keep their plain SHA-256
(``key_id = "sha256"``); they may only form the start of the trail, sealed by the keyed
``audit.chain_keyed`` row that the migration wrote after them. ``head_statement`` signs the
chain's head so a copy kept elsewhere can later prove the trail was not cut short or rebuilt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session

from portal.audit.keys import LEGACY_KEY_ID, AuditKeyring, UnknownAuditKey
from portal.audit.models import AuditChainHead, AuditEvent
from portal.clock import now as clock_now
from portal.db import table_of

GENESIS_HASH = "0" * 64
#: The row that seals the unkeyed rows written before the chain was keyed.
KEYED_ACTION = "audit.chain_keyed"
STATEMENT_KIND = "mandate-portal/audit-head/v1"


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def row_body(*, seq: int, occurred_at: datetime, merchant_id: int | None, subject: str,
             action: str, actor: str, data: dict[str, Any], prev_hash: str,
             key_id: str) -> dict[str, Any]:
    """What a row's hash covers (the key id too, except on legacy rows, which predate it)."""
    body = {"seq": seq, "occurred_at": occurred_at.isoformat(), "merchant_id": merchant_id,
            "subject": subject, "action": action, "actor": actor, "data": data,
            "prev_hash": prev_hash}
    if key_id != LEGACY_KEY_ID:
        body["key_id"] = key_id
    return body


def row_hash(body: dict[str, Any], key_id: str, keyring: AuditKeyring) -> str:
    """The row's hash: HMAC under the key it names, or plain SHA-256 for a legacy row."""
    if key_id == LEGACY_KEY_ID:
        return hashlib.sha256(canonical(body)).hexdigest()
    return keyring.chain_mac(key_id, canonical(body))


def _event_hash(event: AuditEvent, keyring: AuditKeyring) -> str:
    body = row_body(seq=event.seq, occurred_at=event.occurred_at, merchant_id=event.merchant_id,
                    subject=event.subject, action=event.action, actor=event.actor,
                    data=event.data, prev_hash=event.prev_hash, key_id=event.key_id)
    return row_hash(body, event.key_id, keyring)


def audit_keys_of(session: Session) -> AuditKeyring:
    """The audit keyring bound to a session by :func:`portal.db.init_app`."""
    try:
        return session.info["audit_keys"]
    except KeyError:
        raise RuntimeError("this session carries no audit keys; open it from the app's "
                           "session factory") from None


#: The chain head's two writes, built once (an append is on every customer's path), on the
#: table: the ORM's bulk-update machinery cost more than the statements (nothing in a session
#: holds the head row to keep in step; :func:`head_statement` reads it afresh).
_HEAD = table_of(AuditChainHead)
_BUMP_HEAD = (update(_HEAD).where(_HEAD.c.id == 1)
              .values(seq=_HEAD.c.seq + bindparam("count"))
              .returning(_HEAD.c.seq, _HEAD.c.hash))
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("hash"))
_EVENTS = table_of(AuditEvent)
#: An event's columns as :func:`_chain_unchained` writes them (the row id is the database's).
_WRITTEN = ("seq", "occurred_at", "merchant_id", "subject", "action", "actor", "data",
            "prev_hash", "hash", "key_id")
#: Where a session keeps its events not yet chained, in the order they were recorded.
_UNCHAINED = "audit_unchained"


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

    The event takes its place in the chain (its ``seq``, ``prev_hash`` and ``hash``) when the
    session next flushes, together with every other event recorded since the last flush: the
    chain head is bumped once for all of them and they are written in one INSERT, leaving the
    session (:func:`_chain_unchained`; the returned object keeps its chain fields, not a row id). Bumping the head takes
    its row lock (PostgreSQL) or the write lock (SQLite), so concurrent appends queue up instead
    of forking the chain, and the lock is taken as late as the transaction's writes are.
    """
    return _record(session, [AuditEntry(action=action, subject=subject, actor=actor,
                                        merchant_id=merchant_id, data=data or {})], now=now)[0]


@dataclass(frozen=True)
class AuditEntry:
    """One event for :func:`record_audits`."""

    action: str
    subject: str
    actor: str
    merchant_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _record(session: Session, entries: Sequence[AuditEntry], *,
            now: datetime | None = None) -> list[AuditEvent]:
    """Add events to the session, chained at its next flush (:func:`_chain_unchained`)."""
    keyring = audit_keys_of(session)
    occurred_at = now or clock_now()
    events = [AuditEvent(occurred_at=occurred_at, merchant_id=entry.merchant_id,
                         subject=entry.subject, action=entry.action, actor=entry.actor,
                         data=entry.data, key_id=keyring.current_key_id) for entry in entries]
    session.add_all(events)
    session.info.setdefault(_UNCHAINED, []).extend(events)
    return events


def record_audits(session: Session, entries: Sequence[AuditEntry], *,
                  now: datetime | None = None) -> None:
    """Append many events in the caller's transaction, as :func:`record_audit` appends one:
    the events recorded before them are flushed first (so the chain keeps the order they were
    recorded in), the chain head is bumped once by their number (taking the same lock) and
    each row is chained to the one before it, written in one multi-row INSERT (an import of
    100,000 mandates costs a few statements per thousand events, not two per event)."""
    if not entries:
        return
    session.flush()
    keyring = audit_keys_of(session)
    last, prev_hash = session.execute(_BUMP_HEAD, {"count": len(entries)}).one()
    occurred_at = now or clock_now()
    key_id = keyring.current_key_id
    rows = []
    for seq, entry in enumerate(entries, last - len(entries) + 1):
        body = row_body(seq=seq, occurred_at=occurred_at, merchant_id=entry.merchant_id,
                        subject=entry.subject, action=entry.action, actor=entry.actor,
                        data=entry.data, prev_hash=prev_hash, key_id=key_id)
        digest = row_hash(body, key_id, keyring)
        rows.append({"seq": seq, "occurred_at": occurred_at, "merchant_id": entry.merchant_id,
                     "subject": entry.subject, "action": entry.action, "actor": entry.actor,
                     "data": entry.data, "prev_hash": prev_hash, "hash": digest,
                     "key_id": key_id})
        prev_hash = digest
    session.execute(insert(table_of(AuditEvent)), rows)
    session.execute(_SET_HEAD_HASH, {"hash": prev_hash})


@orm_events.listens_for(Session, "before_flush")
def _chain_unchained(session: Session, _context: Any, _objects: Any) -> None:
    """Give the events recorded since the last flush their place in the chain, in the order
    they were recorded, and move the head past them: two statements whatever their number."""
    events = session.info.pop(_UNCHAINED, None)
    if not events:
        return
    keyring = audit_keys_of(session)
    last, prev_hash = session.execute(_BUMP_HEAD, {"count": len(events)}).one()
    rows = []
    for seq, audit_event in enumerate(events, last - len(events) + 1):
        audit_event.seq = seq
        audit_event.prev_hash = prev_hash
        audit_event.hash = prev_hash = _event_hash(audit_event, keyring)
        rows.append({name: getattr(audit_event, name) for name in _WRITTEN})
    session.execute(_SET_HEAD_HASH, {"hash": prev_hash})
    # Written in one multi-row INSERT, not one INSERT … RETURNING per event by the unit of work:
    # nothing reads an event's row id, and the rows commit or roll back with the flush's.
    for audit_event in events:
        if audit_event in session.new:
            session.expunge(audit_event)
    session.execute(insert(_EVENTS), rows)


@orm_events.listens_for(Session, "after_soft_rollback")
def _forget_unchained(session: Session, _transaction: Any) -> None:
    """A rollback (of the transaction or of a savepoint, which flushed everything recorded
    before it began) discards the events recorded since the last flush with the rest."""
    session.info.pop(_UNCHAINED, None)


class StatementError(ValueError):
    """The text is not a head statement."""


def head_statement(session: Session, *, keyring: AuditKeyring | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """A signed statement of the chain's head (its last seq and hash) at ``now``, to keep
    outside the database; :func:`verify_chain` checks the trail against it later."""
    keyring = keyring or audit_keys_of(session)
    head = session.get(AuditChainHead, 1)
    if head is None:
        raise RuntimeError("the audit chain head is missing")
    statement: dict[str, Any] = {
        "kind": STATEMENT_KIND, "seq": head.seq, "hash": head.hash,
        "issued_at": (now or clock_now()).isoformat(), "key_id": keyring.current_key_id}
    statement["mac"] = keyring.statement_mac(keyring.current_key_id, canonical(statement))
    return statement


def parse_statements(text: str) -> list[dict[str, Any]]:
    """Statements from ``audit head`` output: one JSON object per line (blank lines ignored)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            statement = json.loads(line)
        except ValueError as exc:
            raise StatementError(f"line {number}: not JSON") from exc
        if not isinstance(statement, dict) or statement.get("kind") != STATEMENT_KIND:
            raise StatementError(f"line {number}: not an audit head statement")
        if not isinstance(statement.get("seq"), int) or not all(
                isinstance(statement.get(name), str)
                for name in ("hash", "issued_at", "key_id", "mac")):
            raise StatementError(f"line {number}: an audit head statement needs seq, hash, "
                                 "issued_at, key_id and mac")
        found.append(statement)
    return found


def _statement_problem(statement: dict[str, Any], keyring: AuditKeyring) -> str | None:
    body = {name: statement[name] for name in ("kind", "seq", "hash", "issued_at", "key_id")}
    try:
        expected = keyring.statement_mac(statement["key_id"], canonical(body))
    except UnknownAuditKey:
        return (f"statement of {statement['issued_at']}: made with audit key "
                f"{statement['key_id']}, which is not configured (add it to "
                "AUDIT_KEY_FALLBACKS)")
    if not hmac_equal(expected, statement["mac"]):
        return (f"statement of {statement['issued_at']}: its signature does not verify "
                "(altered, or not made with this portal's audit key)")
    return None


def hmac_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass
class ChainReport:
    """Outcome of :func:`verify_chain`: ``ok`` and, if not, what is wrong where."""

    checked: int = 0
    #: Rows from before the chain was keyed (plain SHA-256).
    legacy: int = 0
    #: Statements the trail was checked against and found consistent with.
    statements_matched: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, statements: Iterable[dict[str, Any]] = (), *,
                 keyring: AuditKeyring | None = None, batch_size: int = 1000) -> ChainReport:
    """Recompute every hash; report edited, inserted, deleted or re-hashed rows (tail deletion
    included), and check the trail against head statements made earlier: a trail that ends
    before a statement's seq was cut short, one whose row there differs was rebuilt."""
    keyring = keyring or audit_keys_of(session)
    report = ChainReport()
    wanted: dict[int, list[dict[str, Any]]] = {}
    for statement in statements:
        problem = _statement_problem(statement, keyring)
        if problem:
            report.problems.append(problem)
        else:
            wanted.setdefault(statement["seq"], []).append(statement)
    expected_seq, prev_hash = 1, GENESIS_HASH
    keyed_seen = False
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
        if problem := _row_problem(event, keyring, keyed_seen, report):
            report.problems.append(problem)
        keyed_seen = keyed_seen or event.key_id != LEGACY_KEY_ID
        for statement in wanted.pop(event.seq, ()):
            if hmac_equal(statement["hash"], event.hash):
                report.statements_matched += 1
            else:
                report.problems.append(
                    f"seq {event.seq} differs from the statement of {statement['issued_at']}: "
                    "the chain was rewritten since")
        expected_seq, prev_hash = event.seq + 1, event.hash
    if report.legacy and not keyed_seen:
        report.problems.append(
            f"the trail has {report.legacy} unkeyed rows and no keyed row sealing them "
            f"({KEYED_ACTION}): rewritten without the audit key?")
    for seq, pending in sorted(wanted.items()):
        if seq == 0:  # a statement of the empty trail
            report.statements_matched += len(pending)
            continue
        for statement in pending:
            report.problems.append(
                f"seq {seq} is missing: the trail ends at seq {expected_seq - 1}, but the "
                f"statement of {statement['issued_at']} names seq {seq} (cut short since)")
    head = session.get(AuditChainHead, 1)
    if head is None:
        report.problems.append("chain head is missing")
    elif head.seq != expected_seq - 1 or head.hash != prev_hash:
        report.problems.append(
            f"chain head is at seq {head.seq} but the trail ends at seq {expected_seq - 1} "
            "(rows deleted at the end, or the head was edited)"
        )
    return report


def _row_problem(event: AuditEvent, keyring: AuditKeyring, keyed_seen: bool,
                 report: ChainReport) -> str | None:
    if event.key_id == LEGACY_KEY_ID:
        report.legacy += 1
        if keyed_seen:
            return (f"seq {event.seq}: an unkeyed (plain SHA-256) row after keyed rows: "
                    "rewritten without the audit key")
    elif not keyring.knows(event.key_id):
        return (f"seq {event.seq}: made with audit key {event.key_id}, which is not "
                "configured (add it to AUDIT_KEY_FALLBACKS)")
    elif report.legacy and not keyed_seen and event.action != KEYED_ACTION:
        return f"seq {event.seq}: the first keyed row after unkeyed ones must be {KEYED_ACTION}"
    if not hmac_equal(_event_hash(event, keyring), event.hash):
        return f"seq {event.seq}: content was edited (hash mismatch)"
    return None
