"""Check a sealed mandate PDF: intact seal, made by the portal, evidence belongs to it.

Never raises on bad input: anything wrong becomes `ok=False` with human-readable reasons.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any, TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ._async import run_sync
from .seal import EVIDENCE_FILE_NAME, SEAL_FIELD_NAME

TrustedCertificate: TypeAlias = x509.Certificate | asn1_x509.Certificate | bytes


@dataclass
class VerificationReport:
    ok: bool = False
    signature_intact: bool = False
    signed_by_portal: bool = False
    signer_subject: str | None = None
    signed_at: datetime | None = None
    evidence: dict[str, Any] | None = None
    evidence_matches: bool = False
    reasons: list[str] = field(default_factory=list)


def verify(
    pdf_bytes: bytes, trusted_certificate: TrustedCertificate | None = None
) -> VerificationReport:
    """Verify a sealed mandate; `ok` needs the portal's certificate as `trusted_certificate`."""
    report = VerificationReport()
    try:
        _verify_into(report, pdf_bytes, trusted_certificate)
    except Exception as error:  # noqa: BLE001 -- garbage in must never become an exception out
        report.reasons.append(f"document could not be verified: {_describe(error)}")
    report.ok = (
        not report.reasons
        and report.signature_intact
        and report.signed_by_portal
        and report.evidence_matches
    )
    return report


def _verify_into(
    report: VerificationReport, pdf_bytes: bytes, trusted: TrustedCertificate | None
) -> None:
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
    trust_roots: list[asn1_x509.Certificate] = (
        [] if trusted is None else [_as_asn1_certificate(trusted)])
    context = ValidationContext(trust_roots=trust_roots, allow_fetching=False)
    status = run_sync(lambda: async_validate_pdf_signature(seal, context))
    report.signed_at = status.signer_reported_dt
    report.signature_intact = bool(status.intact and status.valid)
    if not status.intact:
        report.reasons.append("document digest does not match the signature (file was modified)")
    elif not status.valid:
        report.reasons.append("signature value is not valid for the signer certificate")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        report.reasons.append("signature does not cover the whole document")

    report.signed_by_portal = bool(status.trusted)
    if trusted is None:
        report.reasons.append("no trusted portal certificate given; signer not confirmed")
    elif not status.trusted:
        report.reasons.append("signed by an unknown certificate")

    _check_evidence(report, reader, seal, pdf_bytes)


def _find_seal(signatures: list[EmbeddedPdfSignature]) -> EmbeddedPdfSignature | None:
    for signature in signatures:
        if signature.field_name == SEAL_FIELD_NAME:
            return signature
    return signatures[0] if signatures else None


def _check_evidence(
    report: VerificationReport,
    reader: PdfFileReader,
    seal: EmbeddedPdfSignature,
    pdf_bytes: bytes,
) -> None:
    """The evidence read is the one in the sealed revision, so the seal covers it."""
    signed_revision = seal.signed_revision
    signed = _embedded_file(reader.get_historical_root(signed_revision), EVIDENCE_FILE_NAME)
    if signed is None:
        report.reasons.append(f"embedded {EVIDENCE_FILE_NAME} missing")
        return
    current = _embedded_file(reader.root, EVIDENCE_FILE_NAME)
    if current != signed:
        report.reasons.append(f"embedded {EVIDENCE_FILE_NAME} was changed after sealing")
    try:
        evidence = json.loads(signed)
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


def _embedded_file(root: generic.DictionaryObject, name: str) -> bytes | None:
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return None
    spec = _name_tree_lookup(tree, name, depth=0)
    if spec is None:
        return None
    try:
        return spec["/EF"]["/F"].data
    except (KeyError, TypeError, AttributeError):
        return None


def _name_tree_lookup(node: generic.DictionaryObject, name: str, depth: int) -> Any:
    if depth > 16:
        return None
    if "/Names" in node:
        names = node["/Names"]
        for index in range(0, len(names) - 1, 2):
            if str(names[index]) == name:
                return names[index + 1]
    # Indexing, unlike .get(), makes pyHanko dereference indirect objects.
    for kid in node["/Kids"] if "/Kids" in node else ():  # noqa: SIM401
        found = _name_tree_lookup(kid.get_object(), name, depth + 1)
        if found is not None:
            return found
    return None


def _as_asn1_certificate(certificate: TrustedCertificate) -> asn1_x509.Certificate:
    if isinstance(certificate, asn1_x509.Certificate):
        return certificate
    if isinstance(certificate, x509.Certificate):
        certificate = certificate.public_bytes(Encoding.DER)
    return asn1_x509.Certificate.load(bytes(certificate))


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
