"""A stand-in acquirer for refusal tests: status answers built with the sandbox's own builders,
then altered the way an attacker or a broken bank would, served to the real client through an
httpx transport (no network)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from lxml import etree

from portal.banks import dsig, idx, pain
from portal.banks.base import Product, TransactionStatus
from portal.banks.certificates import SigningPair, create_signing_pair
from portal.banks.client import IdxBank, IdxSettings
from portal.banks.xml import serialize

ACQUIRER = create_signing_pair("test acquirer")
ISSUER = create_signing_pair("test debtor bank")
MERCHANT = create_signing_pair("test merchant")
TRANSACTION_ID = "0050123456789012"
CREDITOR = pain.Party("NL69ZZZ123456780000", "Merchant 1 B.V.", "NL",
                      ("Keizersgracht 1", "1015 CJ Amsterdam"))


def request_details(reference: str = "MP-REF-1", instrument: str = "B2B") -> pain.MandateDetails:
    return pain.MandateDetails(
        kind="pain009", message_id="MSG0000000000001", created_at="2030-01-01T00:00:00.000Z",
        mandate_reference=reference, local_instrument=instrument, sequence_type="RCUR",
        max_amount_cents=None, reason="Membership", debtor_reference="CUST-1",
        debtor_bic="INGBNL2A", purchase_id="inv_1", original_iban=None)


def signed_report(details: pain.MandateDetails, *, creditor: pain.Party = CREDITOR,
                  issuer: SigningPair = ISSUER, accepted: bool = True) -> etree._Element:
    document = pain.acceptance_report(
        details, message_id="ACC0000000000001", now=datetime.now(UTC),
        validation_reference="VAL-0001" if accepted else None, accepted=accepted,
        reject_reason=None if accepted else "MS02", creditor=creditor,
        debtor_name="De Vries Holding B.V.", debtor_iban="NL20INGB0001234567",
        debtor_bic="INGBNL2A", signer_name="J. de Vries")
    return dsig.sign_embedded(document, pain.signature_envelope(document), issuer)


def status_message(document: etree._Element | None, *, product: Product = Product.B2B,
                   acquirer: SigningPair = ACQUIRER,
                   status: TransactionStatus = TransactionStatus.SUCCESS) -> bytes:
    response = idx.status_response(product, "0050", transaction_id=TRANSACTION_ID,
                                   status=status, status_at=datetime.now(UTC),
                                   document=document, now=datetime.now(UTC))
    return serialize(dsig.sign_message(response, acquirer))


@dataclass
class ForgingAcquirer:
    """Answers every request with ``answer`` (bytes), whatever was asked."""

    answer: bytes = b""
    requests: list[bytes] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.read())
        return httpx.Response(200, content=self.answer,
                              headers={"Content-Type": "text/xml; charset=utf-8"})

    def client(self, trusted: tuple = (ACQUIRER.certificate,),
               clock: Callable[[], datetime] | None = None) -> IdxBank:
        settings = IdxSettings(
            name="forged", directory_url="https://acquirer.test/dir",
            transaction_url="https://acquirer.test/trx", status_url="https://acquirer.test/sts",
            merchant_id="0020000001", sub_id=0, signing=MERCHANT, acquirer_certificates=trusted)
        return IdxBank(settings, client=httpx.Client(transport=httpx.MockTransport(self.handle)),
                       clock=clock)
