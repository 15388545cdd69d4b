"""From an active mandate to its sealed, stored PDF: build the signing data, produce, record."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.documents.models import MandatePdf
from portal.emandates.reports import evidence_report
from portal.jobs.models import Job, JobStatus
from portal.jobs.service import NewJob, enqueue_jobs
from portal.mandates.models import Mandate
from portal.mandates.service import debtor_iban
from portal.metrics import PDF_SECONDS
from signing.document import Branding, Creditor, Debtor, Evidence, MandateDocument
from signing.storage import FileSystemPdfStore, PdfStore

if TYPE_CHECKING:  # pyHanko and WeasyPrint load when a PDF is made, not with the app
    from signing import Attachment, Sealer

PDF_JOB = "mandate.pdf"
#: Where the mandate was signed, as printed on it: the customer's device, online.
PLACE_ONLINE = "Online"


def build_pdf_store(instance: Path) -> PdfStore:
    """Sealed PDFs under ``instance/mandates``, content-addressed."""
    return FileSystemPdfStore(instance / "mandates")


def pdf_job_key(mandate: Mandate) -> str:
    return f"{PDF_JOB}:{mandate.public_id}"


def pdf_job(mandate: Mandate) -> NewJob:
    """The job that makes the mandate's PDF (once per mandate)."""
    return NewJob(PDF_JOB, {"mandate": mandate.public_id}, dedupe_key=pdf_job_key(mandate))


def request_pdf(session: Session, mandate: Mandate) -> None:
    """Schedule the PDF in the caller's transaction (once per mandate)."""
    enqueue_jobs(session, [pdf_job(mandate)])


def pdf_given_up(session: Session, mandate: Mandate) -> bool:
    """True when the PDF job ran out of attempts: no PDF will come without an operator."""
    status = session.scalar(select(Job.status).where(Job.dedupe_key == pdf_job_key(mandate)))
    return status == JobStatus.DEAD


def signing_data(session: Session, mandate: Mandate) -> tuple[MandateDocument, Branding, Evidence]:
    """The plain data the framework-free ``signing`` package needs, from the database."""
    merchant, facts = mandate.merchant, mandate.evidence or {}
    iban = debtor_iban(session, mandate) or ""
    signed_at = mandate.signed_at
    if signed_at is None:
        raise ValueError(f"mandate {mandate.public_id} is not signed; it has no PDF")
    debtor_address = tuple(part for part in (
        mandate.debtor_address_line,
        " ".join(filter(None, (mandate.debtor_postal_code, mandate.debtor_city)))) if part)
    document = MandateDocument(
        reference=mandate.reference, scheme=mandate.scheme.value,
        sequence=mandate.sequence_type.value,
        creditor=Creditor(merchant.legal_name, (merchant.address_line,
                          f"{merchant.postal_code} {merchant.city}"), merchant.country,
                          merchant.creditor_id),
        debtor=Debtor(mandate.debtor_name or mandate.customer.name, debtor_address,
                      mandate.debtor_country, iban, mandate.bic,
                      mandate.customer.email),
        signed_at=signed_at, place=PLACE_ONLINE,
        signing_method=mandate.signing_method.value if mandate.signing_method else "",
        locale=mandate.locale, text_version=mandate.text_version or "",
    )
    branding = Branding(merchant.display_name, merchant.primary_colour, merchant.logo,
                        merchant.logo_mime)
    evidence = Evidence(
        signer_name=mandate.signer_name or mandate.debtor_name or "",
        masked_iban=mandate.iban_masked or "",
        signed_at=signed_at, ip=facts.get("ip") or "", user_agent=facts.get("user_agent") or "",
        method=document.signing_method, provider_payment_id=facts.get("provider_payment_id"),
        bank_message_id=facts.get("bank_message_id"), locale=mandate.locale,
        text_version=document.text_version,
        status_history=tuple(facts.get("payment_status_history")
                             or facts.get("bank_status_history") or ()),
        validation_reference=facts.get("validation_reference"),
        bank_report_sha256=facts.get("pain012_sha256"),
        bank_certificate_sha1=facts.get("bank_certificate_sha1"),
    )
    return document, branding, evidence


#: The name of the debtor bank's acceptance report inside the sealed PDF.
BANK_REPORT_FILE = "pain.012.xml"


def signing_attachments(session: Session, mandate: Mandate) -> list[Attachment]:
    """Files sealed beside evidence.json: the debtor bank's signed pain.012, when the mandate
    was signed at the bank (an associated file of the PDF/A-3, its source), decrypted to the
    very bytes the bank signed. ReportMismatch if it is not the report the evidence names."""
    from signing import Attachment

    report = evidence_report(session, mandate.evidence or {})
    if report is None:
        return []
    return [Attachment(name=BANK_REPORT_FILE, data=report,
                       mime_type="application/xml", relationship="Source",
                       description="Mandate acceptance report (pain.012) signed by the "
                                   "debtor's bank")]


def produce_mandate_pdf(session: Session, public_id: str, *, sealer: Sealer, store: PdfStore,
                        now: datetime) -> MandatePdf | None:
    """Render, seal and store the PDF once; a retry after any failure starts over cleanly."""
    from signing import produce_signed_mandate

    mandate = session.scalar(select(Mandate).where(Mandate.public_id == public_id))
    if mandate is None or mandate.signed_at is None:
        return None
    existing = session.scalar(select(MandatePdf).where(MandatePdf.mandate_id == mandate.id))
    if existing is not None:
        return existing
    document, branding, evidence = signing_data(session, mandate)
    with PDF_SECONDS.time():
        signed = produce_signed_mandate(document, branding, evidence, sealer, store,
                                        attachments=signing_attachments(session, mandate))
    pdf = MandatePdf(mandate=mandate, sha256=signed.sha256, size=signed.size,
                     evidence=json.loads(signed.evidence_json), created_at=now,
                     archive_renew_by=signed.renew_by)
    session.add(pdf)
    record_audit(session, action="mandate.pdf", subject=mandate.public_id, actor="system",
                 merchant_id=mandate.merchant_id, now=now,
                 data={"sha256": signed.sha256, "size": signed.size,
                       "document_sha256": pdf.evidence["document_sha256"],
                       "renew_by": signed.renew_by.isoformat() if signed.renew_by else None})
    return pdf


def mandate_pdf(session: Session, mandate: Mandate) -> MandatePdf | None:
    return session.scalar(select(MandatePdf).where(MandatePdf.mandate_id == mandate.id))


#: Built once: the confirmation page asks on every visit.
_HAS_PDF = select(MandatePdf.id).where(MandatePdf.mandate_id == bindparam("mandate_id")).limit(1)


def has_mandate_pdf(session: Session, mandate: Mandate) -> bool:
    """Whether the sealed PDF is stored (its id only: the record's evidence is not loaded)."""
    return session.scalar(_HAS_PDF, {"mandate_id": mandate.id}) is not None


def read_pdf(store: PdfStore, record: MandatePdf) -> bytes:
    """The stored bytes, checked against their SHA-256 by the store."""
    return store.get(record.sha256)
