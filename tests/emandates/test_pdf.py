"""The sealed PDF of a mandate signed at the bank carries the bank's pain.012 next to
evidence.json, and `mandate verify` re-checks the bank's signature offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.documents.models import MandatePdf
from portal.documents.sealing import seal_trust
from portal.documents.service import BANK_REPORT_FILE, read_pdf
from portal.emandates.models import BankTransaction
from portal.emandates.reports import evidence_report, store_report, stored_report
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Mandate
from signing import verify
from tests.emandates.conftest import accepted_at_bank


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def sealed(app: Flask, session: Session) -> tuple[Mandate, bytes]:
    """A B2B mandate activated by an accepted pain.012, and its sealed PDF."""
    mandate, _ = accepted_at_bank(app, session)
    with app.app_context():
        run_due_jobs(app)
        session.expire_all()
        record = session.scalar(select(MandatePdf).where(MandatePdf.mandate_id == mandate.id))
        return session.get(Mandate, mandate.id), read_pdf(get_adapters(app).pdf_store, record)


def test_the_pdf_embeds_the_signed_pain012_and_names_it_in_the_evidence(
        app: Flask, session: Session, sealed: tuple[Mandate, bytes]) -> None:
    mandate, pdf = sealed
    report = verify(pdf, seal_trust(app))
    assert report.ok, report.reasons
    assert sorted(report.attachments) == ["evidence.json", BANK_REPORT_FILE]
    embedded = report.attachments[BANK_REPORT_FILE]
    assert embedded.data == evidence_report(session, mandate.evidence)  # decrypted, byte-exact
    assert embedded.mime_type == "application/xml" and embedded.relationship == "Source"
    evidence = json.loads(report.attachments["evidence.json"].data)
    assert evidence["method"] == "bank_emandate"
    assert evidence["validation_reference"] == "VAL-0001"
    assert evidence["bank_report_sha256"] == hashlib.sha256(embedded.data).hexdigest()
    assert evidence["signer_name"] == "J. de Vries"


def test_mandate_verify_rechecks_the_banks_signature_offline(
        sealed: tuple[Mandate, bytes], runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mandate.pdf"
    path.write_bytes(sealed[1])
    result = runner.invoke(args=["mandate", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "bank signature:       yes" in result.output
    assert "validation reference: VAL-0001" in result.output
    assert "VALID" in result.output


def test_mandate_verify_refuses_a_sealed_pdf_whose_pain012_was_forged_before_sealing(
        app: Flask, session: Session, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """The portal's seal proves only what it sealed: a pain.012 edited before sealing (a bug, an
    insider) still fails its own bank signature."""
    mandate, transaction = accepted_at_bank(app, session)
    with app.app_context():
        mandate = session.get(Mandate, mandate.id)
        stored = session.get(BankTransaction, transaction.id)
        forged = stored_report(session, stored).replace(b"J. de Vries", b"M. Allory")
        store_report(session, stored, forged)
        mandate.evidence = {**mandate.evidence,
                            "pain012_sha256": hashlib.sha256(forged).hexdigest()}
        session.commit()
        run_due_jobs(app)
        record = session.scalar(select(MandatePdf).where(MandatePdf.mandate_id == mandate.id))
        path = tmp_path / "forged.pdf"
        path.write_bytes(read_pdf(get_adapters(app).pdf_store, record))
    result = runner.invoke(args=["mandate", "verify", str(path)])
    assert result.exit_code == 1
    assert "bank signature:       NO" in result.output and "INVALID" in result.output


def test_a_stored_report_that_is_not_the_one_the_evidence_names_is_never_sealed(
        app: Flask, session: Session) -> None:
    mandate, transaction = accepted_at_bank(app, session)
    with app.app_context():
        stored = session.get(BankTransaction, transaction.id)
        store_report(session, stored, stored_report(session, stored).replace(
            b"J. de Vries", b"M. Allory"))
        session.commit()
        run_due_jobs(app)
        assert session.scalar(select(MandatePdf).where(
            MandatePdf.mandate_id == mandate.id)) is None
