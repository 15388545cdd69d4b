"""XML-DSig as iDx uses it, with signxml: one enveloped signature over the whole message
(exclusive C14N, RSA-SHA256, SHA-256, ``KeyName`` = certificate fingerprint), and the debtor
bank's own signature inside the pain.012 (with its certificate). Only those algorithms pass."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    InvalidInput,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import SignXMLException

from portal.banks.certificates import SigningPair, fingerprint
from portal.banks.xml import NS

__all__ = [
    "ALLOWED_ALGORITHMS",
    "SignatureRefused",
    "VerifiedSignature",
    "sign_embedded",
    "sign_message",
    "verify_embedded",
    "verify_message",
]

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

#: Where each algorithm may appear; any other URI anywhere in a signature refuses it.
ALLOWED_ALGORITHMS = {
    "CanonicalizationMethod": (EXC_C14N,),
    "SignatureMethod": (RSA_SHA256,),
    "Transform": (ENVELOPED, EXC_C14N),
    "DigestMethod": (SHA256,),
}
_DS = "{" + NS["ds"] + "}"


class SignatureRefused(ValueError):
    """A signature is missing, uses another algorithm, names an unknown certificate, or does not
    verify. The message says which."""


@dataclass(frozen=True)
class VerifiedSignature:
    """What a signature covers, as signed (never the unsigned input), and who signed it."""

    signed: etree._Element
    certificate: x509.Certificate


def _signer() -> XMLSigner:
    return XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256,
                     digest_algorithm=DigestAlgorithm.SHA256,
                     c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)


def sign_message(root: etree._Element, pair: SigningPair) -> etree._Element:
    """Append the iDx signature to the message root: ``KeyInfo`` holds only the ``KeyName``."""
    key_info = etree.Element(_DS + "KeyInfo", nsmap={"ds": NS["ds"]})
    etree.SubElement(key_info, _DS + "KeyName").text = pair.fingerprint
    return _signer().sign(root, key=pair.key, key_info=key_info)


def sign_embedded(document: etree._Element, container: etree._Element,
                  pair: SigningPair) -> etree._Element:
    """Sign a whole pain document with the signature placed in ``container`` (its
    supplementary-data envelope) and the certificate in ``X509Data``, as debtor banks do."""
    placeholder = etree.SubElement(container, _DS + "Signature", nsmap={"ds": NS["ds"]})
    placeholder.set("Id", "placeholder")
    certificate = pair.certificate.public_bytes(serialization.Encoding.PEM).decode()
    return _signer().sign(document, key=pair.key, cert=[certificate])


def _signature_at(root: etree._Element, path: str) -> etree._Element:
    matches = root.findall(path + "ds:Signature", NS)
    if len(matches) != 1:
        raise SignatureRefused("expected exactly one signature in its place, found "
                               f"{len(matches)}")
    return matches[0]


def _check_algorithms(signature: etree._Element) -> None:
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureRefused("the signature must have one reference to the whole document")
    transforms = [t.get("Algorithm") for t in references[0].findall("ds:Transforms/ds:Transform", NS)]
    if transforms != [ENVELOPED, EXC_C14N]:
        raise SignatureRefused("unexpected transforms: " + ", ".join(map(str, transforms))[:200])
    for element in signature.iter():
        if not isinstance(element.tag, str) or element.get("Algorithm") is None:
            continue
        local = etree.QName(element).localname
        if element.get("Algorithm") not in ALLOWED_ALGORITHMS.get(local, ()):
            raise SignatureRefused(f"algorithm not allowed in {local}: "
                                   f"{element.get('Algorithm')[:100]}")
    for required in ("CanonicalizationMethod", "SignatureMethod"):
        if signature.find(f"ds:SignedInfo/ds:{required}", NS) is None:
            raise SignatureRefused(f"the signature lacks {required}")


def _verify(root: etree._Element, location: str, certificate: x509.Certificate,
            now: datetime | None) -> etree._Element:
    config = SignatureConfiguration(
        location=location, expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        verification_time=now)
    try:
        result = XMLVerifier().verify(root, x509_cert=certificate, expect_config=config)
    except (SignXMLException, InvalidInput, ValueError) as exc:
        raise SignatureRefused(f"signature does not verify: {type(exc).__name__}: "
                               f"{str(exc)[:160]}") from None
    signed = result.signed_xml  # type: ignore[union-attr]
    if signed is None:
        raise SignatureRefused("the signed content is not XML")
    return signed


def verify_message(root: etree._Element, trusted: Sequence[x509.Certificate], *,
                   now: datetime | None = None) -> VerifiedSignature:
    """Verify the acquirer's signature on an iDx message against the certificate its
    ``KeyName`` names among ``trusted`` (the acquirer's, and the alternative one during a
    rollover)."""
    signature = _signature_at(root, "./")
    if root[-1] is not signature:
        raise SignatureRefused("the signature must be the message's last element")
    _check_algorithms(signature)
    key_name = signature.findtext("ds:KeyInfo/ds:KeyName", namespaces=NS)
    by_fingerprint = {fingerprint(c): c for c in trusted}
    certificate = by_fingerprint.get((key_name or "").strip().upper())
    if certificate is None:
        raise SignatureRefused(
            f"signed with an unknown certificate (KeyName {str(key_name)[:64]!r})")
    return VerifiedSignature(_verify(root, "./", certificate, now), certificate)


def verify_embedded(document: etree._Element, location: str, *,
                    now: datetime | None = None) -> VerifiedSignature:
    """Verify the signature a debtor bank put inside a pain document, with the certificate it
    carries (trusted because the acquirer's signature covers it, and kept as evidence)."""
    signature = _signature_at(document, location)
    _check_algorithms(signature)
    certificates = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    if len(certificates) != 1 or not (certificates[0].text or "").strip():
        raise SignatureRefused("the bank's signature must carry exactly one certificate")
    try:
        certificate = x509.load_der_x509_certificate(
            base64.b64decode("".join(certificates[0].text.split()), validate=True))
    except ValueError:
        raise SignatureRefused("the bank's certificate cannot be read") from None
    return VerifiedSignature(_verify(document, location, certificate, now), certificate)
