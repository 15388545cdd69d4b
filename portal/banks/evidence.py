"""The bank's pain.012 as evidence, checked offline: schema-valid, signed by the debtor bank
(the certificate it carries), and the same document the evidence record names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from portal.banks import dsig, pain
from portal.banks.certificates import fingerprint
from portal.banks.xml import XmlRefused, parse_message, validate_message


@dataclass
class ReportCheck:
    """What an offline check of a pain.012 found; ``ok`` only without reasons."""

    reasons: list[str] = field(default_factory=list)
    bank_certificate: str | None = None
    signer_subject: str | None = None
    mandate_reference: str | None = None
    validation_reference: str | None = None

    @property
    def ok(self) -> bool:
        return not self.reasons


def check_acceptance_report(data: bytes, evidence: dict[str, Any] | None = None) -> ReportCheck:
    """Re-check the debtor bank's signature on a stored pain.012; with ``evidence`` (the sealed
    evidence record), also that it is the report the record names."""
    check = ReportCheck()
    try:
        document = parse_message(data)
        validate_message(document)
        verified = dsig.verify_embedded(document, pain.SIGNATURE_LOCATION)
    except (XmlRefused, dsig.SignatureRefused) as exc:
        check.reasons.append(f"pain.012: {exc}")
        return check
    report = pain.read_acceptance_report(verified.signed, raw=data,
                                         bank_certificate=fingerprint(verified.certificate))
    check.bank_certificate = report.bank_certificate
    check.signer_subject = verified.certificate.subject.rfc4514_string()
    check.mandate_reference = report.mandate_reference
    check.validation_reference = report.validation_reference
    if not report.accepted:
        check.reasons.append("pain.012: the bank did not accept the mandate")
    if evidence is not None:
        if evidence.get("pain012_sha256") not in (None, hashlib.sha256(data).hexdigest()):
            check.reasons.append("pain.012 is not the report the evidence names")
        if evidence.get("bank_certificate_sha1") not in (None, report.bank_certificate):
            check.reasons.append("pain.012 is signed by another certificate than recorded")
        if evidence.get("validation_reference") not in (None, report.validation_reference):
            check.reasons.append("pain.012 carries another validation reference than recorded")
    return check


def check_sealed_report(data: bytes, sealed_evidence: dict[str, Any]) -> ReportCheck:
    """:func:`check_acceptance_report` for the pain.012 sealed in a mandate PDF, against the
    names the sealed evidence.json gives its digest, certificate and validation reference."""
    return check_acceptance_report(data, {
        "pain012_sha256": sealed_evidence.get("bank_report_sha256"),
        "bank_certificate_sha1": sealed_evidence.get("bank_certificate_sha1"),
        "validation_reference": sealed_evidence.get("validation_reference")})
