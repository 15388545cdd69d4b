"""The iDx client: signed XML over HTTP to an acquirer's three URLs, every answer validated and
its signature checked before anything in it is used. The sandbox bank is reached the same way."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cryptography import x509
from lxml import etree

from portal.banks import dsig, idx, pain
from portal.banks.base import (
    MAX_EXPIRATION,
    AcceptanceReport,
    AmendmentRequest,
    BankError,
    BankRefused,
    BankResponseRefused,
    BankUnavailable,
    CancellationRequest,
    Directory,
    MandateRequest,
    Product,
    StatusReport,
    TransactionStarted,
    TransactionStatus,
)
from portal.banks.certificates import SigningPair, fingerprint
from portal.banks.xml import (
    MAX_MESSAGE_BYTES,
    NS,
    XmlRefused,
    parse_message,
    serialize,
    validate_message,
)

__all__ = ["IdxBank", "IdxSettings", "error_for"]

log = logging.getLogger(__name__)
USER_AGENT = f"sepa-mandate-portal/1.0 (eMandates iDx) httpx/{httpx.__version__}"
_TRANSACTION_ID = re.compile(r"[0-9]{16}")
_ENTRANCE_CODE = re.compile(r"[a-zA-Z0-9]{1,40}")


@dataclass(frozen=True)
class IdxSettings:
    """An acquirer contract: where to send messages, who we are, whom we trust."""

    name: str
    directory_url: str
    transaction_url: str
    status_url: str
    merchant_id: str
    sub_id: int
    signing: SigningPair
    #: The acquirer's certificate first; during a rollover also the alternative one.
    acquirer_certificates: tuple[x509.Certificate, ...]
    timeout_seconds: float = 10.0


def error_for(error: idx.AcquirerError) -> BankError:
    """An ``AcquirerErrorRes`` as an exception: ``SO`` codes (system unavailable, busy,
    maintenance) may pass, everything else (``IX`` invalid XML, ``SE`` security, ``BR`` fields,
    ``AP`` application, e.g. unknown merchant or transaction) is a refusal of our request."""
    kind = BankUnavailable if error.code.startswith("SO") else BankRefused
    return kind(f"acquirer error {error.code}: {error.message}", code=error.code,
                detail=error.detail, suggested_action=error.suggested_action,
                consumer_message=error.consumer_message)


class IdxBank:
    """:class:`portal.banks.base.Bank` over iDx; one instance per app (it keeps its HTTP
    connections open)."""

    def __init__(self, settings: IdxSettings | Callable[[], IdxSettings], *,
                 name: str | None = None, client: httpx.Client | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """``settings`` may be a function that makes them on first use (the sandbox's keys are
        generated only when a debtor first signs at the sandbox bank, not for every app)."""
        if isinstance(settings, IdxSettings):
            self._settings: IdxSettings | None = settings
            self._make_settings: Callable[[], IdxSettings] | None = None
            self.name = name or settings.name
        else:
            if name is None:
                raise TypeError("settings made on first use need the bank's name")
            self._settings, self._make_settings, self.name = None, settings, name
        self._client = client
        self._lock = threading.Lock()
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def settings(self) -> IdxSettings:
        if self._settings is None:
            with self._lock:
                if self._settings is None and self._make_settings is not None:
                    self._settings = self._make_settings()
        assert self._settings is not None
        return self._settings

    @property
    def client(self) -> httpx.Client:
        """One HTTP client per bank adapter (connections kept open), made on first use."""
        if self._client is None:
            timeout = self.settings.timeout_seconds
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(
                        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
                        headers={"User-Agent": USER_AGENT}, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- Bank ---------------------------------------------------------------------------------

    def directory(self, product: Product) -> Directory:
        s = self.settings
        request = idx.directory_request(product, s.merchant_id, s.sub_id, self._clock())
        answer = idx.read_directory_response(
            self._exchange(s.directory_url, request, "DirectoryRes", product))
        return Directory(product=product, banks=answer.banks, directory_at=answer.directory_at)

    def new_mandate(self, request: MandateRequest) -> TransactionStarted:
        return self._transaction(request, pain.mandate_document(request, self._clock()))

    def amend_mandate(self, request: AmendmentRequest) -> TransactionStarted:
        return self._transaction(request, pain.amendment_document(request, self._clock()))

    def cancel_mandate(self, request: CancellationRequest) -> TransactionStarted:
        if request.product is not Product.B2B:
            raise BankRefused("eMandates cancels only B2B mandates at the bank")
        return self._transaction(request, pain.cancellation_document(request, self._clock()))

    def status(self, product: Product, transaction_id: str) -> StatusReport:
        if not _TRANSACTION_ID.fullmatch(transaction_id or ""):
            raise BankRefused("not an iDx transaction id")
        s = self.settings
        request = idx.status_request(product, s.merchant_id, s.sub_id, transaction_id,
                                     self._clock())
        signed, raw = self._exchange_raw(s.status_url, request, "AcquirerStatusRes", product)
        answer = idx.read_status_response(signed)
        if answer.transaction_id != transaction_id:
            raise BankResponseRefused("the status response is about another transaction")
        report = None
        if answer.status is TransactionStatus.SUCCESS:
            report = self._acceptance_report(answer.document)
        return StatusReport(transaction_id=transaction_id, status=answer.status,
                            status_at=answer.status_at, report=report, message=raw)

    # -- the exchange ---------------------------------------------------------------------------

    def _transaction(self, request: MandateRequest | AmendmentRequest | CancellationRequest,
                     document: etree._Element) -> TransactionStarted:
        if request.expiration > MAX_EXPIRATION:
            raise BankRefused("an eMandates transaction may last at most 7 days (P7D)")
        if not _ENTRANCE_CODE.fullmatch(request.entrance_code):
            raise BankRefused("the entrance code must be 1–40 letters and digits")
        s = self.settings
        envelope = idx.transaction_request(
            request.product, s.merchant_id, s.sub_id, issuer_bic=request.debtor_bic,
            return_url=request.return_url, expiration=request.expiration,
            language=request.language if request.language in ("nl", "en") else "en",
            entrance_code=request.entrance_code, document=document, now=self._clock())
        answer = idx.read_transaction_response(
            self._exchange(s.transaction_url, envelope, "AcquirerTrxRes", request.product))
        if not answer.authentication_url.startswith(("https://", "http://")):
            raise BankResponseRefused("the acquirer gave no usable authentication URL")
        return TransactionStarted(transaction_id=answer.transaction_id,
                                  authentication_url=answer.authentication_url,
                                  created_at=answer.created_at)

    def _exchange(self, url: str, request: etree._Element, expected: str,
                  product: Product) -> etree._Element:
        return self._exchange_raw(url, request, expected, product)[0]

    def _exchange_raw(self, url: str, request: etree._Element, expected: str,
                      product: Product) -> tuple[etree._Element, bytes]:
        """Sign, validate and send ``request``; the verified answer (what its signature covers)
        and its bytes. Raises BankError subclasses only."""
        signed = dsig.sign_message(request, self.settings.signing)
        try:
            validate_message(signed)
        except XmlRefused as exc:  # our own bug: never send what the acquirer must refuse
            raise BankRefused(f"our {etree.QName(request).localname} is invalid: {exc}") from None
        body = self._post(url, serialize(signed))
        try:
            root = parse_message(body)
            validate_message(root)
            verified = dsig.verify_message(root, self.settings.acquirer_certificates,
                                           now=self._clock())
            kind = idx.message_kind(verified.signed)
        except (XmlRefused, dsig.SignatureRefused, ValueError) as exc:
            log.warning("refused an answer from %s: %s", self.name, exc)
            raise BankResponseRefused(f"answer refused: {exc}") from None
        if kind == "AcquirerErrorRes":
            error = error_for(idx.read_error_response(verified.signed))
            log.warning("%s answered %s: %s", self.name, error.code, error)
            raise error
        if kind != expected or idx.product_of(verified.signed) is not product:
            raise BankResponseRefused(f"expected {expected} for {product.name}, got {kind}")
        return verified.signed, body

    def _post(self, url: str, body: bytes) -> bytes:
        try:
            with self.client.stream("POST", url, content=body, headers={
                    "Content-Type": "text/xml; charset=utf-8"}) as response:
                data = b""
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_MESSAGE_BYTES:
                        raise BankResponseRefused("the answer is too large")
                status = response.status_code
        except httpx.TimeoutException:
            raise BankUnavailable(f"{self.name} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise BankUnavailable(f"{self.name} unreachable: {type(exc).__name__}") from None
        if status >= 500 and not data.lstrip().startswith(b"<"):
            raise BankUnavailable(f"{self.name} answered HTTP {status}")
        if status >= 400 and not data.lstrip().startswith(b"<"):
            raise BankRefused(f"{self.name} answered HTTP {status}")
        return data

    def _acceptance_report(self, document: etree._Element | None) -> AcceptanceReport:
        """The pain.012 of a Success: an accepted one only with the debtor bank's valid
        signature; a rejection may come unsigned (banks sign acceptances)."""
        if document is None or etree.QName(document).localname != "Document":
            raise BankResponseRefused("a Success status without its acceptance report")
        has_signature = document.find(
            pain.SIGNATURE_LOCATION + "{" + NS["ds"] + "}Signature") is not None
        raw = etree.tostring(document, encoding="UTF-8")
        if has_signature:
            try:
                verified = dsig.verify_embedded(document, pain.SIGNATURE_LOCATION,
                                                now=self._clock())
            except dsig.SignatureRefused as exc:
                raise BankResponseRefused(f"the bank's signature on the pain.012: {exc}") from None
            try:
                return pain.read_acceptance_report(
                    verified.signed, raw=raw, bank_certificate=fingerprint(verified.certificate))
            except ValueError as exc:
                raise BankResponseRefused(f"the pain.012 cannot be read: {exc}") from None
        try:
            report = pain.read_acceptance_report(document, raw=raw, bank_certificate=None)
        except ValueError as exc:
            raise BankResponseRefused(f"the pain.012 cannot be read: {exc}") from None
        if report.accepted:
            raise BankResponseRefused("an accepted pain.012 without the bank's signature")
        return report
