"""A stored pain.012 re-checks offline: the debtor bank's signature, and that it is the report
the evidence record names."""

from __future__ import annotations

import hashlib

from lxml import etree

from portal.banks.certificates import fingerprint
from portal.banks.evidence import check_acceptance_report
from tests.banks.forgery import ISSUER, request_details, signed_report


def _stored() -> bytes:
    return etree.tostring(signed_report(request_details("MP-REF-1")), encoding="UTF-8")


def test_a_genuine_report_passes_with_its_evidence() -> None:
    data = _stored()
    evidence = {"pain012_sha256": hashlib.sha256(data).hexdigest(),
                "bank_certificate_sha1": fingerprint(ISSUER.certificate),
                "validation_reference": "VAL-0001"}
    check = check_acceptance_report(data, evidence)
    assert check.ok, check.reasons
    assert check.mandate_reference == "MP-REF-1" and check.validation_reference == "VAL-0001"
    assert "test debtor bank" in check.signer_subject


def test_an_edited_report_fails_its_signature() -> None:
    check = check_acceptance_report(_stored().replace(b"J. de Vries", b"M. Allory"))
    assert not check.ok and "does not verify" in check.reasons[0]


def test_a_report_other_than_the_recorded_one_is_named() -> None:
    check = check_acceptance_report(_stored(), {"pain012_sha256": "0" * 64,
                                                "validation_reference": "OTHER"})
    assert check.reasons == ["pain.012 is not the report the evidence names",
                             "pain.012 carries another validation reference than recorded"]


def test_entities_are_refused_offline_too() -> None:
    check = check_acceptance_report(b'<!DOCTYPE d [<!ENTITY x "y">]><Document>&x;</Document>')
    assert not check.ok and "document type declaration" in check.reasons[0]
