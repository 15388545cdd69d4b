"""Render, seal and store a signed mandate in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .attachments import Attachment
from .document import Branding, Evidence, MandateDocument
from .render import render_mandate_pdf
from .seal import Sealer, seal_mandate
from .storage import PdfStore


@dataclass(frozen=True)
class SignedMandate:
    sha256: str
    size: int
    evidence_json: bytes
    pdf: bytes
    #: When the archive timestamp's certificate expires; renew the timestamp before then.
    renew_by: datetime | None


def produce_signed_mandate(
    doc: MandateDocument,
    branding: Branding,
    evidence: Evidence,
    sealer: Sealer,
    store: PdfStore,
    attachments: Sequence[Attachment] = (),
) -> SignedMandate:
    """The sealed mandate, stored by content; a failure before `put` stores nothing."""
    _require_matching_evidence(doc, evidence)
    unsealed = render_mandate_pdf(doc, branding)
    sealed = seal_mandate(unsealed, evidence, sealer, attachments=attachments)
    stored = store.put(sealed.pdf)
    return SignedMandate(
        sha256=stored.sha256,
        size=stored.size,
        evidence_json=sealed.evidence_json,
        pdf=sealed.pdf,
        renew_by=sealed.renew_by,
    )


def _require_matching_evidence(doc: MandateDocument, evidence: Evidence) -> None:
    """Evidence must describe the text the document shows, or it proves nothing."""
    mismatches = [
        name
        for name, shown, recorded in (
            ("locale", doc.locale, evidence.locale),
            ("text_version", doc.text_version, evidence.text_version),
            ("signed_at", doc.signed_at, evidence.signed_at),
        )
        if shown != recorded
    ]
    if mismatches:
        raise ValueError(f"evidence does not match the document: {', '.join(mismatches)}")
