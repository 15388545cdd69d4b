"""After activation the mandate's sealed PDF is produced in the background, stored, mailed."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

import signing.pipeline
from portal.adapters import get_adapters
from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.documents.models import MandatePdf
from portal.documents.service import produce_mandate_pdf, read_pdf
from portal.jobs.models import Job, JobStatus
from portal.jobs.service import run_due_jobs
from signing import LocalTimestampAuthority, load_or_create_development_pki, verify
from tests.factories import make_invitation
from tests.reconfigure import reconfigure
from tests.sign.driver import Journey
from tests.tsa_server import serve_tsa


@pytest.fixture
def signed(app: Flask, client, session: Session) -> Journey:
    invitation = make_invitation(session, locale="nl")
    session.commit()
    journey = Journey(app, client, session, invitation)
    journey.follow(journey.pay("paid"))
    return journey


def _stored_files(app: Flask) -> list[Path]:
    root = Path(app.instance_path) / "mandates"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_pdf_is_pending_until_the_job_runs_then_downloadable(signed: Journey, app: Flask) -> None:
    status = signed.client.get(f"{signed.path}/status").get_json()
    assert status["pdf"] == "pending"
    assert b'data-pdf="pending"' in signed.client.get(f"{signed.path}/done").data

    assert run_due_jobs(app) == 2  # the PDF, then the customer's copy by mail
    status = signed.client.get(f"{signed.path}/status").get_json()
    assert status["pdf"] == "ready" and status["pdf_url"].endswith("/mandate.pdf")
    download = signed.client.get(status["pdf_url"])
    assert download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]

    mandate = signed.mandate()
    text = "\n".join(page.extract_text() for page in PdfReader(
        __import__("io").BytesIO(download.data)).pages)
    for expected in (mandate.reference, mandate.merchant.creditor_id, "Sam de Vries",
                     "NL91 ABNA 0417 1643 00", "8 weken", "iDEAL-betaling"):
        assert expected in text
    report = verify(download.data, get_adapters(signed.app).sealing().trust)
    assert report.ok, report.reasons
    record = signed.session.scalar(select(MandatePdf))
    assert report.evidence["document_sha256"] == record.evidence["document_sha256"]
    assert record.evidence["provider_payment_id"].startswith("tr_sbx")


def test_generation_is_idempotent(signed: Journey, app: Flask) -> None:
    run_due_jobs(app)
    adapters = get_adapters(app)
    again = produce_mandate_pdf(signed.session, signed.mandate().public_id,
                                sealer=adapters.sealing().sealer(), store=adapters.pdf_store,
                                now=utcnow())
    assert again is not None and len(_stored_files(app)) == 1


def test_failure_after_rendering_leaves_no_file_and_the_retry_stores_one(
        signed: Journey, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    real_seal = signing.pipeline.seal_mandate
    monkeypatch.setattr(signing.pipeline, "seal_mandate",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    assert run_due_jobs(app) == 2  # the PDF fails; the customer's copy waits for it
    job = signed.session.scalar(select(Job).where(Job.kind == "mandate.pdf"))
    assert job.status == JobStatus.PENDING and job.attempts == 1 and "killed" in job.last_error
    assert _stored_files(app) == [] and signed.session.scalar(select(MandatePdf)) is None

    monkeypatch.setattr(signing.pipeline, "seal_mandate", real_seal)
    app.config["CLOCK"] = lambda: utcnow() + timedelta(hours=1)  # past the retry's backoff
    assert run_due_jobs(app) == 2
    assert len(_stored_files(app)) == 1
    signed.session.expire_all()
    assert signed.session.scalar(select(Job).where(Job.kind == "mandate.pdf")).status == \
        JobStatus.DONE


def test_customer_gets_a_copy_by_mail_in_their_language(signed: Journey, app: Flask) -> None:
    run_due_jobs(app)
    outbox = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(outbox) == 1
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=policy.default)
    assert message["To"] == "Sam de Vries <sam@example.org>"
    assert "machtiging" in message["Subject"]
    assert message.get_body(("plain",)).get_content().count(signed.mandate().reference) == 1
    assert message.get_body(("html",)) is not None
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert verify(attachment.get_content(), get_adapters(app).sealing().trust).ok


def test_verify_command_accepts_the_stored_pdf_and_rejects_a_flipped_byte(
        signed: Journey, app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    run_due_jobs(app)
    stored = _stored_files(app)[0]
    good = runner.invoke(args=["mandate", "verify", str(stored)])
    assert good.exit_code == 0 and "VALID" in good.output

    data = bytearray(stored.read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    bad = runner.invoke(args=["mandate", "verify", str(tampered)])
    assert bad.exit_code == 1 and "INVALID" in bad.output


def test_activation_queues_the_pdf_and_the_copy_and_the_copy_waits_for_the_pdf(
        signed: Journey, app: Flask) -> None:
    queued = {job.kind for job in signed.session.scalars(select(Job))}
    assert {"mandate.pdf", "mail.mandate_copy"} <= queued
    assert run_due_jobs(app, kinds=("mail.mandate_copy",)) == 1  # before the PDF: waits
    copy = signed.session.scalar(select(Job).where(Job.kind == "mail.mandate_copy"))
    assert copy.status == JobStatus.PENDING and "waiting for the sealed PDF" in copy.last_error
    assert not list((Path(app.instance_path) / "outbox").glob("*.eml"))

    run_due_jobs(app, kinds=("mandate.pdf",))
    app.config["CLOCK"] = lambda: utcnow() + timedelta(minutes=1)
    assert run_due_jobs(app, kinds=("mail.mandate_copy",)) == 1
    assert len(list((Path(app.instance_path) / "outbox").glob("*.eml"))) == 1


def test_the_copy_gives_up_when_the_pdf_job_did(signed: Journey, app: Flask) -> None:
    pdf_job = signed.session.scalar(select(Job).where(Job.kind == "mandate.pdf"))
    pdf_job.status = JobStatus.DEAD
    signed.session.commit()
    assert run_due_jobs(app) == 1
    signed.session.expire_all()
    copy = signed.session.scalar(select(Job).where(Job.kind == "mail.mandate_copy"))
    assert copy.status == JobStatus.DONE
    failed = signed.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "mail.mandate_copy_failed"))
    assert failed is not None and "PDF" in failed.data["error"]


def test_the_seal_is_timestamped_by_the_tsa_at_tsa_url_with_its_credentials(
        signed: Journey, app: Flask) -> None:
    pki = load_or_create_development_pki(Path(app.config["DEVELOPMENT_PKI_PATH"]))
    authority = LocalTimestampAuthority(pki.timestamping, [pki.ca.root])
    with serve_tsa(authority, username="portal", password="s3cret") as tsa:
        reconfigure(app, TSA_URL=tsa.url, TSA_USERNAME="portal", TSA_PASSWORD="s3cret")
        assert run_due_jobs(app) == 2
    assert tsa.requests and all(r["Authorization"].startswith("Basic ") for r in tsa.requests)
    record = signed.session.scalar(select(MandatePdf))
    adapters = get_adapters(app)
    report = verify(read_pdf(adapters.pdf_store, record), adapters.sealing().trust)
    assert report.ok, report.reasons
    assert report.level == "B-LTA" and report.renew_by == record.archive_renew_by
