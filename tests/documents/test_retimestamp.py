"""`flask --app portal mandate retimestamp`: stored PDFs get their archive timestamp renewed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import EXTENSION, get_adapters
from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.db import state
from portal.documents.archive import RENEWAL_FAILED, RENEWED, pdfs_due, renew_pdf
from portal.documents.models import MandatePdf
from portal.documents.service import read_pdf as read_stored
from portal.jobs.service import run_due_jobs
from signing import (
    LocalTimestampAuthority,
    archive_timestamps,
    load_or_create_development_pki,
    verify,
)
from tests.factories import make_invitation
from tests.sign.driver import Journey


@pytest.fixture(autouse=True)
def _app_context(app: Flask):
    with app.app_context():
        yield


@pytest.fixture
def stored(app: Flask, client, session: Session) -> MandatePdf:
    """A signed mandate whose sealed PDF the job has produced and stored."""
    invitation = make_invitation(session, locale="nl")
    session.commit()
    journey = Journey(app, client, session, invitation)
    journey.follow(journey.pay("paid"))
    run_due_jobs(app)
    return session.scalar(select(MandatePdf))


def read_pdf(record: MandatePdf) -> bytes:
    return read_stored(get_adapters().pdf_store, record)


def seal_trust():
    return get_adapters().sealing().trust


def _stored_files(app: Flask) -> list[Path]:
    return sorted(p for p in (Path(app.instance_path) / "mandates").rglob("*.pdf"))


def _make_due(app: Flask, record: MandatePdf) -> None:
    """Renew within a horizon that reaches the current timestamp's expiry."""
    app.config["ARCHIVE_RENEWAL_DAYS"] = (record.archive_renew_by - utcnow()).days + 1


def _rotate_the_tsa(app: Flask):
    """The TSA now signs with a newer certificate that outlives the current one."""
    pki = load_or_create_development_pki(Path(app.config["DEVELOPMENT_PKI_PATH"]))
    adapters = get_adapters(app)
    setup = adapters.sealing()
    now = utcnow()
    newer = pki.ca.issue_timestamping(now - timedelta(hours=1), now + timedelta(days=7300),
                                      common_name="DEVELOPMENT timestamp authority 2")
    rotated = dataclasses.replace(
        setup, timestamper=LocalTimestampAuthority(newer, [pki.ca.root], setup.clock))
    app.extensions[EXTENSION] = dataclasses.replace(adapters, sealing=lambda: rotated)
    return newer


def _audit(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_new_pdf_records_when_its_archive_timestamp_needs_renewal(stored, app) -> None:
    stamps = archive_timestamps(read_pdf(stored))
    assert [s.field_name for s in stamps] == ["ArchiveTimestamp1"]
    assert stored.archive_renew_by == stamps[0].tsa_valid_until
    assert verify(read_pdf(stored), seal_trust()).level == "B-LTA"


def test_retimestamp_renews_what_is_due_keeps_the_store_consistent_and_audits(
        stored, app: Flask, runner: FlaskCliRunner, session: Session, client) -> None:
    old_sha, old_bytes = stored.sha256, read_pdf(stored)
    _make_due(app, stored)
    newer = _rotate_the_tsa(app)

    dry = runner.invoke(args=["mandate", "retimestamp", "--dry-run"])
    assert dry.exit_code == 0 and "1 PDF(s) due" in dry.output
    assert _stored_files(app) and len(_stored_files(app)) == 1

    result = runner.invoke(args=["mandate", "retimestamp", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "done: 1 renewed, 0 failed" in result.output

    session.expire_all()
    record = session.scalar(select(MandatePdf))
    assert record.sha256 != old_sha
    assert record.archive_renew_by == newer.certificate.not_valid_after_utc
    renewed = read_pdf(record)  # the store checks the new name against the new bytes
    assert renewed.startswith(old_bytes) and len(renewed) == record.size
    assert get_adapters().pdf_store.get(old_sha) == old_bytes  # add-only: the earlier version stays
    assert len(_stored_files(app)) == 2
    report = verify(renewed, seal_trust())
    assert report.ok, report.reasons
    assert [s.field_name for s in report.archive_timestamps] == [
        "ArchiveTimestamp1", "ArchiveTimestamp2"]
    (event,) = _audit(session, RENEWED)
    assert event.subject == record.mandate.public_id
    assert event.data["previous_sha256"] == old_sha and event.data["sha256"] == record.sha256

    again = runner.invoke(args=["mandate", "retimestamp"])
    assert again.exit_code == 0 and "0 PDF(s) due" in again.output
    assert len(_audit(session, RENEWED)) == 1 and len(_stored_files(app)) == 2


def test_a_renewal_that_would_not_help_fails_loudly_and_changes_nothing(
        stored, app: Flask, runner: FlaskCliRunner, session: Session) -> None:
    old_sha = stored.sha256
    _make_due(app, stored)  # but the TSA still signs with the same certificate

    result = runner.invoke(args=["mandate", "retimestamp"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "would not help" in result.output
    session.expire_all()
    assert session.scalar(select(MandatePdf)).sha256 == old_sha
    assert len(_stored_files(app)) == 1
    (event,) = _audit(session, RENEWAL_FAILED)
    assert "would not help" in event.data["reason"]


def test_due_pdfs_are_found_in_batches_in_id_order(app: Flask, session: Session) -> None:
    now = utcnow()
    renew_by = [None, now + timedelta(days=10), now + timedelta(days=4000), None]
    for value in renew_by:
        invitation = make_invitation(session)
        session.flush()
        session.add(MandatePdf(mandate_id=invitation.mandate_id, sha256="0" * 64, size=1,
                               evidence={}, created_at=now, archive_renew_by=value))
    session.commit()
    ids = [pdf.id for pdf in session.scalars(select(MandatePdf).order_by(MandatePdf.id))]
    due_before = now + timedelta(days=180)
    assert pdfs_due(session, due_before, limit=2) == [ids[0], ids[1]]
    assert pdfs_due(session, due_before, after_id=ids[1], limit=2) == [ids[3]]
    assert pdfs_due(session, due_before, after_id=ids[3]) == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.postgres
def test_a_pdf_another_run_is_renewing_is_skipped(stored, app: Flask) -> None:
    due_before = stored.archive_renew_by + timedelta(days=1)
    with state(app).factory() as first, state(app).factory() as second:
        first.scalar(select(MandatePdf).where(MandatePdf.id == stored.id).with_for_update())
        adapters = get_adapters(app)
        outcome = renew_pdf(second, stored.id, sealer=adapters.sealing().sealer(),
                            store=adapters.pdf_store,
                            now=utcnow(), due_before=due_before)
        assert outcome is None
        first.rollback()
