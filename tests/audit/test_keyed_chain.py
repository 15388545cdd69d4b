"""The audit chain resists someone who can write to the database: rows are HMACs under a key
kept outside it, old keys verify old rows, and head statements kept elsewhere catch a trail cut
short or rebuilt; rows from before the chain was keyed are sealed by the migration."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, delete, insert, select, update
from sqlalchemy.orm import Session

from portal import create_app, migrate
from portal.audit.keys import AuditKeyring
from portal.audit.models import AuditChainHead, AuditEvent
from portal.audit.service import (
    GENESIS_HASH,
    audit_keys_of,
    canonical,
    head_statement,
    record_audit,
    row_body,
    verify_chain,
)
from portal.db import make_engine, state
from tests.conftest import app_settings
from tests.factories import make_merchant


def _trail(session: Session, n: int = 5) -> None:
    merchant = make_merchant(session)
    for i in range(n):
        record_audit(session, action="test.step", subject=merchant.public_id, actor="test",
                     merchant_id=merchant.id, data={"i": i})
    session.commit()


def _rehash_from(session: Session, seq: int, digest, until: int | None = None) -> None:
    """What someone with database access does: edit a row, then recompute every hash from
    there on (to ``until``, else to the head) so the links match again."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.seq >= seq - 1)
                             .order_by(AuditEvent.seq)).all()
    prev = events[0].hash if events[0].seq < seq else GENESIS_HASH
    for event in events:
        if event.seq < seq or (until is not None and event.seq > until):
            continue
        event.prev_hash = prev
        event.hash = prev = digest(event)
    if until is None:
        session.get(AuditChainHead, 1).hash = prev
    session.commit()


def _plain_sha256(event: AuditEvent) -> str:
    body = row_body(seq=event.seq, occurred_at=event.occurred_at, merchant_id=event.merchant_id,
                    subject=event.subject, action=event.action, actor=event.actor,
                    data=event.data, prev_hash=event.prev_hash, key_id=event.key_id)
    return hashlib.sha256(canonical(body)).hexdigest()


def test_rows_are_keyed_and_name_their_key(session: Session) -> None:
    _trail(session, 2)
    keyring = audit_keys_of(session)
    events = session.scalars(select(AuditEvent)).all()
    assert {event.key_id for event in events} == {keyring.current_key_id}
    assert all(event.hash != _plain_sha256(event) for event in events)
    assert verify_chain(session).ok


def test_a_chain_recomputed_without_the_key_is_detected(session: Session) -> None:
    """Before the chain was keyed, this rewrite (edit, then recompute plain hashes) passed."""
    _trail(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(data={"i": 99}))
    _rehash_from(session, 3, _plain_sha256)
    problems = verify_chain(session).problems
    assert any("seq 3: content was edited" in p for p in problems)


def test_a_chain_rewritten_as_unkeyed_rows_is_detected(session: Session) -> None:
    """Turning every row into a legacy (plain SHA-256) row does not pass either."""
    _trail(session)
    session.execute(update(AuditEvent).values(key_id="sha256"))
    _rehash_from(session, 1, _plain_sha256)
    problems = verify_chain(session).problems
    assert any("no keyed row sealing them" in p for p in problems)


@pytest.fixture
def build(database_url: str, tmp_path: Path) -> Iterator:
    apps: list[Flask] = []

    def make(key: str, fallbacks: tuple[str, ...] = ()) -> Flask:
        app = create_app({**app_settings(database_url, tmp_path / "instance"),
                          "AUDIT_KEY": key, "AUDIT_KEY_FALLBACKS": list(fallbacks)})
        apps.append(app)
        return app

    yield make
    for app in apps:
        state(app).engine.dispose()


def test_after_a_key_rotation_old_rows_verify_with_the_old_key(build) -> None:
    before, rotated, forgotten = build("audit-one"), build("audit-two", ("audit-one",)), \
        build("audit-two")
    for app in (before, rotated):
        with state(app).factory() as session:
            _trail(session, 2)
    with state(rotated).factory() as session:
        assert len(set(session.scalars(select(AuditEvent.key_id)))) == 2
        assert verify_chain(session).ok
    with state(forgotten).factory() as session:
        problems = verify_chain(session).problems
    assert problems and all("which is not configured" in p for p in problems)
    assert len(problems) == 3  # the merchant's creation and the two steps of the first app


def test_head_statement_catches_a_trail_cut_short(session: Session) -> None:
    _trail(session, 5)
    statement = head_statement(session)
    assert statement["seq"] == 6
    # Remove the last two rows and set the head back: the chain alone is consistent again.
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 4))
    last = session.scalar(select(AuditEvent).where(AuditEvent.seq == 4))
    session.execute(update(AuditChainHead).values(seq=4, hash=last.hash))
    session.commit()
    assert verify_chain(session).ok
    problems = verify_chain(session, [statement]).problems
    assert problems == [(f"seq 6 is missing: the trail ends at seq 4, but the statement of "
                         f"{statement['issued_at']} names seq 6 (cut short since)")]


def test_head_statement_catches_a_chain_rebuilt_with_the_key(session: Session) -> None:
    """Even someone holding the key cannot rebuild history behind a statement kept elsewhere."""
    _trail(session, 5)
    statement = head_statement(session)
    keyring = audit_keys_of(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(data={"i": 42}))
    _rehash_from(session, 2, lambda event: keyring.chain_mac(event.key_id, canonical(row_body(
        seq=event.seq, occurred_at=event.occurred_at, merchant_id=event.merchant_id,
        subject=event.subject, action=event.action, actor=event.actor, data=event.data,
        prev_hash=event.prev_hash, key_id=event.key_id))))
    assert verify_chain(session).ok
    assert any("seq 6 differs from the statement" in p
               for p in verify_chain(session, [statement]).problems)


def test_a_forged_or_foreign_statement_is_refused(session: Session) -> None:
    _trail(session, 2)
    statement = head_statement(session)
    assert verify_chain(session, [statement]).statements_matched == 1
    forged = {**statement, "seq": 1}
    foreign = head_statement(session, keyring=AuditKeyring("someone else's key"))
    problems = verify_chain(session, [forged, foreign]).problems
    assert any("signature does not verify" in p for p in problems)
    assert any("which is not configured" in p for p in problems)


def test_cli_head_then_verify_against_it(session: Session, runner, tmp_path: Path) -> None:
    _trail(session, 3)
    printed = runner.invoke(args=["audit", "head"])
    assert printed.exit_code == 0
    statement = json.loads(printed.output)
    assert statement["kind"] == "mandate-portal/audit-head/v1" and statement["seq"] == 4
    statements = tmp_path / "heads.jsonl"
    statements.write_text(printed.output + runner.invoke(args=["audit", "head"]).output)
    result = runner.invoke(args=["audit", "verify", "--statement", str(statements)])
    assert result.exit_code == 0, result.output
    assert "intact: 4 events, consistent with 2 head statement(s)" in result.output
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    session.execute(update(AuditChainHead).values(
        seq=3, hash=session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 3))))
    session.commit()
    result = runner.invoke(args=["audit", "verify", "--statement", str(statements)])
    assert result.exit_code == 1 and "cut short since" in result.output
    (tmp_path / "junk").write_text("not a statement\n")
    bad = runner.invoke(args=["audit", "verify", "--statement", str(tmp_path / "junk")])
    assert bad.exit_code == 2 and "line 1: not JSON" in bad.output


# The migration that keyed the chain: rows written before it keep their plain hashes.

def _legacy_trail(connection, rows: int) -> str:
    """Rows as the unkeyed portal wrote them (before revision 4096521b490d)."""
    tables = MetaData()
    tables.reflect(connection, only=["audit_event", "audit_chain_head"])
    prev = GENESIS_HASH
    for seq in range(1, rows + 1):
        values = {"seq": seq, "occurred_at": datetime(2026, 1, seq, tzinfo=UTC),
                  "merchant_id": None, "subject": "mer_legacy", "action": "legacy.step",
                  "actor": "system", "data": {"i": seq}, "prev_hash": prev}
        body = {**values, "occurred_at": values["occurred_at"].isoformat()}
        values["hash"] = prev = hashlib.sha256(canonical(body)).hexdigest()
        connection.execute(insert(tables.tables["audit_event"]).values(
            {**values, "occurred_at": values["occurred_at"].replace(tzinfo=None)}
            if connection.dialect.name == "sqlite" else values))
    connection.execute(update(tables.tables["audit_chain_head"]).values(seq=rows, hash=prev))
    return prev


def test_migration_seals_the_unkeyed_rows(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    keyring = AuditKeyring("migration-audit-key")
    try:
        migrate.upgrade(engine, "e9a40dc3f6ce")
        with engine.begin() as connection:
            legacy_head = _legacy_trail(connection, 3)
        with pytest.raises(RuntimeError, match="flask --app portal db upgrade"):
            migrate.upgrade(engine)  # existing rows need the audit key
        migrate.upgrade(engine, audit_keys=keyring)
        migrate.check(engine)
        with Session(engine, info={"audit_keys": keyring}) as session:
            seal = session.scalar(select(AuditEvent).where(AuditEvent.seq == 4))
            assert (seal.action, seal.key_id) == ("audit.chain_keyed", keyring.current_key_id)
            assert seal.prev_hash == legacy_head and seal.data["unkeyed_rows"] == 3
            record_audit(session, action="after.step", subject="mer_legacy", actor="test")
            session.commit()
            report = verify_chain(session)
            assert report.ok and (report.checked, report.legacy) == (5, 3)
            # Legacy rows edited and re-hashed no longer match the keyed seal after them.
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                            .values(data={"i": 99}))
            _rehash_from(session, 2, _plain_sha256, until=3)
            assert any("seq 4: previous hash" in p for p in verify_chain(session).problems)
    finally:
        engine.dispose()
