"""Check a sealed mandate PDF: intact seal, made by the portal, evidence belongs to it.

The seal is judged by pyHanko's AdES engine (ETSI EN 319 102-1): the archive timestamps
prove when the seal existed and the validation data embedded at the time proves the seal's
and the timestamps' certificates were good then, so a seal stays valid after its certificate
expires, as long as the newest archive timestamp is. Never raises on bad input: anything wrong
becomes ``ok=False`` with human-readable reasons.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from io import BytesIO
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import EmbeddedPdfSignature, generic_cms
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.pdf_embedded import (
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ._async import run_sync
from .archive import ArchiveTimestamp, archive_timestamps
from .attachments import Attachment, read_associated_files
from .seal import EVIDENCE_FILE_NAME, SEAL_FIELD_NAME
from .trust import Certificate, SealTrust

MODIFIED = "document digest does not match the signature (file was modified)"
CHANGED_AFTER_SEALING = "the document was changed after sealing (beyond validation data and timestamps)"
UNKNOWN_SIGNER = "signed by an unknown certificate"
NOT_THE_PORTAL = "sealed by a certificate of the trusted CA that is not the portal's"

_SUBINDICATION_REASONS = {
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND: UNKNOWN_SIGNER,
    AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE: UNKNOWN_SIGNER,
    AdESFailure.REVOKED: "the sealing certificate was revoked",
    AdESIndeterminate.REVOKED_NO_POE: "the sealing certificate was revoked and no timestamp "
                                      "proves the seal is older",
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE: "the sealing certificate has expired and no valid "
                                            "timestamp proves the seal was made while it was "
                                            "valid",
    AdESIndeterminate.NO_POE: "no valid timestamp proves when the seal was made (the archive "
                              "timestamp may have expired without renewal)",
    AdESIndeterminate.TRY_LATER: "no current revocation data for the seal's certificates",
    AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE: "the embedded revocation data does not "
                                                       "cover the time of sealing",
}


@dataclass
class VerificationReport:
    ok: bool = False
    signature_intact: bool = False
    signed_by_portal: bool = False
    signer_subject: str | None = None
    #: When the seal provably existed (its timestamp), else when the signer said it sealed.
    signed_at: datetime | None = None
    evidence: dict[str, Any] | None = None
    evidence_matches: bool = False
    #: PAdES baseline level the document carries: B-B, B-T, B-LT or B-LTA.
    level: str | None = None
    archive_timestamps: list[ArchiveTimestamp] = field(default_factory=list)
    #: The files sealed with the mandate (evidence.json and any others), as sealed.
    attachments: dict[str, Attachment] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def renew_by(self) -> datetime | None:
        """When the newest archive timestamp's certificate expires: renew before then."""
        return self.archive_timestamps[-1].tsa_valid_until if self.archive_timestamps else None


def verify(pdf_bytes: bytes, trust: SealTrust | Certificate | None = None) -> VerificationReport:
    """Verify a sealed mandate against `trust` (the portal's, or just its certificate)."""
    report = VerificationReport()
    if trust is not None and not isinstance(trust, SealTrust):
        trust = SealTrust.of([trust])
    try:
        _verify_into(report, pdf_bytes, trust)
    except Exception as error:  # noqa: BLE001 -- garbage in must never become an exception out
        report.reasons.append(f"document could not be verified: {_describe(error)}")
    report.ok = (
        not report.reasons
        and report.signature_intact
        and report.signed_by_portal
        and report.evidence_matches
    )
    return report


def _verify_into(report: VerificationReport, pdf_bytes: bytes, trust: SealTrust | None) -> None:
    if not pdf_bytes.rstrip(b"\r\n\x00 ").endswith(b"%%EOF"):
        # A reader recovers the last complete revision of a cut file; say it was cut.
        report.reasons.append("the file is truncated or damaged (it does not end with %%EOF)")
    try:
        reader = PdfFileReader(BytesIO(pdf_bytes), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception as error:  # noqa: BLE001 -- any parser failure means "not a PDF"
        report.reasons.append(f"not a readable PDF: {_describe(error)}")
        return
    seal = _find_seal(signatures)
    if seal is None:
        report.reasons.append("no signature found in the document")
        return
    signer = x509.load_der_x509_certificate(seal.signer_cert.dump())
    report.signer_subject = signer.subject.rfc4514_string()
    if not _digest_matches(seal):
        report.reasons.append(MODIFIED)  # no need to ask whose seal it is
        return
    spec_trust = trust or SealTrust(roots=())
    if _has_signature_timestamp(seal):
        result = run_sync(lambda: ades_lta_validation(seal, spec_trust.validation_spec()))
        status = result.api_status
        if status is None:
            report.reasons.append(f"the seal could not be validated ({result.ades_subindic})")
            return
        subindication: object = result.ades_subindic
        proven = subindication == AdESPassed.OK and result.best_signature_time is not None
        report.signed_at = result.best_signature_time if proven else status.signer_reported_dt
    else:
        # Seals made before timestamps (B-B): valid only while their certificate is, since
        # pyHanko's AdES engine takes no document timestamp as proof for such a seal.
        context = spec_trust.validation_context(datetime.now(UTC))
        status = run_sync(lambda: async_validate_pdf_signature(seal, context))
        subindication = AdESPassed.OK if status.trusted else status.trust_problem_indic
        report.signed_at = status.signer_reported_dt
    report.signature_intact = bool(status.intact and status.valid)
    if not status.intact:
        report.reasons.append(MODIFIED)
    elif not status.valid:
        report.reasons.append("signature value is not valid for the signer certificate")
    if (status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION
            or status.modification_level is None
            or status.modification_level > ModificationLevel.LTA_UPDATES):
        report.reasons.append(CHANGED_AFTER_SEALING)
    report.archive_timestamps = archive_timestamps(pdf_bytes)
    report.level = _pades_level(seal, reader, report.archive_timestamps)
    _check_archive_timestamps(report, reader, spec_trust)
    _judge_trust(report, trust, subindication, signer)
    _check_attachments(report, reader, seal, pdf_bytes)


def _judge_trust(report: VerificationReport, trust: SealTrust | None, subindication: object,
                 signer: x509.Certificate) -> None:
    if trust is None:
        report.reasons.append("no trusted portal certificate given; signer not confirmed")
        return
    if subindication != AdESPassed.OK:
        if report.signature_intact:
            reason = _SUBINDICATION_REASONS.get(subindication)  # type: ignore[call-overload]
            name = getattr(subindication, "name", None) or str(subindication)
            report.reasons.append(reason or f"the seal could not be validated ({name})")
        return
    if trust.seal_subject is not None and signer.subject.rfc4514_string() != trust.seal_subject:
        report.reasons.append(NOT_THE_PORTAL)
        return
    report.signed_by_portal = True


def _check_archive_timestamps(report: VerificationReport, reader: PdfFileReader,
                              trust: SealTrust) -> None:
    """Every document timestamp must be intact; their trust is judged with the seal's."""
    context = ValidationContext(trust_roots=list(trust.roots), allow_fetching=False,
                                revocation_mode="soft-fail")
    for stamp in reader.embedded_timestamp_signatures:
        status = run_sync(partial(async_validate_pdf_timestamp, stamp, context, skip_diff=True))
        if not (status.intact and status.valid):
            report.reasons.append(f"archive timestamp {stamp.field_name} is broken")


def _digest_matches(seal: EmbeddedPdfSignature) -> bool:
    """The cheap half of integrity: the signed bytes still hash to what the seal signed."""
    signed = find_unique_cms_attribute(seal.signer_info["signed_attrs"], "message_digest")
    return bool(seal.compute_digest() == signed.native)


def _has_signature_timestamp(seal: EmbeddedPdfSignature) -> bool:
    return any(True for _ in generic_cms.extract_tst_data_iter(seal.signer_info, signed=False))


def _pades_level(seal: EmbeddedPdfSignature, reader: PdfFileReader,
                 stamps: list[ArchiveTimestamp]) -> str:
    """EN 319 142-1: B-T needs a signature or a document timestamp; B-LT the DSS; B-LTA both."""
    has_signature_timestamp = _has_signature_timestamp(seal)
    has_dss = "/DSS" in reader.root
    if not has_signature_timestamp and not stamps:
        return "B-B"
    if stamps and has_dss:
        return "B-LTA"
    return "B-LT" if has_dss else "B-T"


def _find_seal(signatures: list[EmbeddedPdfSignature]) -> EmbeddedPdfSignature | None:
    for signature in signatures:
        if signature.field_name == SEAL_FIELD_NAME:
            return signature
    return signatures[0] if signatures else None


def _check_attachments(report: VerificationReport, reader: PdfFileReader,
                       seal: EmbeddedPdfSignature, pdf_bytes: bytes) -> None:
    """The files read are those of the sealed revision, so the seal covers them."""
    signed_revision = seal.signed_revision
    sealed = read_associated_files(reader.get_historical_root(signed_revision))
    current = read_associated_files(reader.root)
    report.attachments = sealed
    for name in sorted(set(sealed) | set(current)):
        if sealed.get(name) != current.get(name):
            report.reasons.append(f"embedded {name} was changed after sealing")
    signed = sealed.get(EVIDENCE_FILE_NAME)
    if signed is None:
        report.reasons.append(f"embedded {EVIDENCE_FILE_NAME} missing")
        return
    try:
        evidence = json.loads(signed.data)
    except ValueError:
        evidence = None
    if not isinstance(evidence, dict):
        report.reasons.append(f"embedded {EVIDENCE_FILE_NAME} is not a JSON object")
        return
    report.evidence = evidence

    if signed_revision == 0:
        report.reasons.append("the seal has no unsealed revision to compare evidence with")
        return
    unsealed = pdf_bytes[: _revision_start(reader, signed_revision)]
    report.evidence_matches = (
        evidence.get("document_sha256") == hashlib.sha256(unsealed).hexdigest()
    )
    if not report.evidence_matches:
        report.reasons.append("evidence document_sha256 does not match the signed document")


def _revision_start(reader: PdfFileReader, revision: int) -> int:
    """Offset where `revision`'s incremental update begins, i.e. the prior file's length.

    pyHanko appends an update directly after the original bytes, so the update starts at
    its lowest-placed object or cross-reference section.
    """
    xrefs = reader.xrefs
    offsets = [xrefs.get_xref_container_info(revision).start_location]
    for ref in xrefs.explicit_refs_in_revision(revision):
        location = xrefs.get_historical_ref(ref, revision)
        if isinstance(location, int):
            offsets.append(location)
    return min(offsets)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
