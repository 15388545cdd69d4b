"""What the client refuses before anything reaches a mandate: broken or unknown signatures,
other algorithms, entity tricks, invalid or oversized messages."""

from __future__ import annotations

import pytest
from lxml import etree

from portal.banks import BankResponseRefused, Product, TransactionStatus, dsig, pain
from portal.banks.certificates import create_signing_pair
from portal.banks.xml import MAX_MESSAGE_BYTES, XmlRefused, parse_message, validate_message
from tests.banks.forgery import (
    ACQUIRER,
    TRANSACTION_ID,
    ForgingAcquirer,
    request_details,
    signed_report,
    status_message,
)

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<AcquirerStatusRes xmlns="http://www.betaalvereniging.nl/iDx/messages/Merchant-Acquirer/1.0.0"
 version="1.0.0" productID="NL:BVN:eMandatesB2B:1.0"><x>&lol3;</x></AcquirerStatusRes>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<AcquirerStatusRes xmlns="http://www.betaalvereniging.nl/iDx/messages/Merchant-Acquirer/1.0.0"
 version="1.0.0" productID="NL:BVN:eMandatesB2B:1.0"><x>&secret;</x></AcquirerStatusRes>"""


def status(answer: bytes, **client: object) -> None:
    ForgingAcquirer(answer).client(**client).status(Product.B2B, TRANSACTION_ID)


def test_a_genuine_answer_passes() -> None:
    acquirer = ForgingAcquirer(status_message(signed_report(request_details())))
    report = acquirer.client().status(Product.B2B, TRANSACTION_ID).report
    assert report.accepted and report.validation_reference == "VAL-0001"
    assert len(acquirer.requests) == 1
    validate_message(parse_message(acquirer.requests[0]))


def test_a_broken_bank_signature_is_refused() -> None:
    report = signed_report(request_details())
    iban = report.find(".//{*}DbtrAcct/{*}Id/{*}IBAN")
    iban.text = "NL91ABNA0417164300"  # altered after the bank signed, before the acquirer did
    with pytest.raises(BankResponseRefused, match="bank's signature"):
        status(status_message(report))


def test_an_accepted_report_without_the_bank_signature_is_refused() -> None:
    report = signed_report(request_details())
    body = report.find("{*}MndtAccptncRpt")
    body.remove(body.find("{*}SplmtryData"))
    with pytest.raises(BankResponseRefused, match="without the bank's signature"):
        status(status_message(report))


def test_a_broken_acquirer_signature_is_refused() -> None:
    answer = status_message(signed_report(request_details())).replace(
        b"J. de Vries", b"M. Allory")
    with pytest.raises(BankResponseRefused, match="does not verify"):
        status(answer)


def test_an_acquirer_signature_by_an_unknown_certificate_is_refused() -> None:
    impostor = create_signing_pair("impostor acquirer")
    with pytest.raises(BankResponseRefused, match="unknown certificate"):
        status(status_message(signed_report(request_details()), acquirer=impostor))


@pytest.mark.parametrize("replace", [
    (dsig.RSA_SHA256.encode(), b"http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
    (dsig.SHA256.encode(), b"http://www.w3.org/2000/09/xmldsig#sha1"),
    (b'CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
     b'CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"'),
])
def test_other_algorithms_are_refused_before_any_cryptography(replace: tuple[bytes, bytes]) -> None:
    answer = status_message(signed_report(request_details()))
    # Only the outer signature (the last one) is altered.
    head, _, tail = answer.rpartition(b"<ds:Signature ")
    with pytest.raises(BankResponseRefused, match="algorithm not allowed"):
        status(head + b"<ds:Signature " + tail.replace(*replace))


@pytest.mark.parametrize("answer", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_entities_are_refused(answer: bytes) -> None:
    with pytest.raises(BankResponseRefused, match="document type declaration"):
        status(answer)


def test_the_parser_never_expands_or_fetches_entities() -> None:
    for data in (BOMB, EXTERNAL):
        with pytest.raises(XmlRefused):
            parse_message(data)


def test_oversized_and_malformed_answers_are_refused() -> None:
    with pytest.raises(BankResponseRefused, match="too large"):
        status(b"<a>" + b"x" * MAX_MESSAGE_BYTES + b"</a>")
    with pytest.raises(BankResponseRefused, match="well-formed"):
        status(b"<AcquirerStatusRes>")


def test_a_schema_invalid_answer_is_refused() -> None:
    answer = status_message(signed_report(request_details())).replace(
        b"<status>Success</status>", b"<status>Paid</status>")
    with pytest.raises(BankResponseRefused, match="schemas"):
        status(answer)


def test_an_answer_about_another_transaction_is_refused() -> None:
    answer = status_message(None, status=TransactionStatus.OPEN).replace(
        TRANSACTION_ID.encode(), b"0050999999999999")
    with pytest.raises(BankResponseRefused):  # the outer signature breaks, or the id differs
        status(answer)


def test_signatures_elsewhere_than_expected_are_refused() -> None:
    """A second acquirer-style signature, or none, in the wrong place: refused."""
    root = parse_message(status_message(signed_report(request_details())))
    root.remove(root[-1])
    with pytest.raises(dsig.SignatureRefused, match="exactly one signature"):
        dsig.verify_message(root, [ACQUIRER.certificate])


def test_the_inner_report_verifies_on_its_own_after_extraction() -> None:
    """What evidence keeps (the pain.012 alone) re-verifies offline."""
    report = signed_report(request_details())
    data = etree.tostring(report, encoding="UTF-8")
    verified = dsig.verify_embedded(parse_message(data), pain.SIGNATURE_LOCATION)
    assert etree.QName(verified.signed).localname == "Document"
