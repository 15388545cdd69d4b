"""The sandbox acquirer's rules: answer signed iDx requests, keep transactions, let a tester
decide them on the bank's page, report Pending for a while, then the final status with a pain.012
signed by the debtor bank."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from cryptography import x509
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.banks import dsig, idx, pain
from portal.banks.base import MAX_EXPIRATION, DebtorBank, Product, TransactionStatus
from portal.banks.certificates import SigningPair
from portal.banks.sandbox.models import (
    DEBTOR_IBAN_CONTEXT,
    REPORT_CONTEXT,
    REQUEST_CONTEXT,
    SandboxBankTransaction,
)
from portal.banks.xml import XmlRefused, parse_message, serialize, validate_message
from portal.crypto import FieldCipher
from portal.db import cipher_of

log = logging.getLogger(__name__)

ACQUIRER_ID = "0050"
#: The contract the sandbox knows: the portal's sandbox settings use these.
MERCHANT_ID = "0020000001"
SUB_ID = 0
#: A bank in the directory that is always down, to see the acquirer's error path.
UNAVAILABLE_BIC = "SNDBNL2U"


@dataclass(frozen=True)
class SandboxDebtorBank:
    bank: DebtorBank
    #: A valid IBAN at this bank, offered on its page when the debtor typed none.
    sample_iban: str
    b2b: bool


SANDBOX_BANKS: tuple[SandboxDebtorBank, ...] = (
    SandboxDebtorBank(DebtorBank("ABNANL2A", "ABN AMRO", "Nederland"), "NL91ABNA0417164300", True),
    SandboxDebtorBank(DebtorBank("INGBNL2A", "ING", "Nederland"), "NL20INGB0001234567", True),
    SandboxDebtorBank(DebtorBank("RABONL2U", "Rabobank", "Nederland"), "NL44RABO0123456789", True),
    SandboxDebtorBank(DebtorBank("ASNBNL21", "ASN Bank", "Nederland"), "NL57ASNB0123456789", False),
    SandboxDebtorBank(DebtorBank("TRIONL2U", "Triodos Bank", "Nederland"), "NL70TRIO0123456789",
                      False),
    SandboxDebtorBank(DebtorBank(UNAVAILABLE_BIC, "Sandbox: bank unavailable", "Nederland"),
                      "NL91ABNA0417164300", True),
    SandboxDebtorBank(DebtorBank("KREDBEBB", "KBC", "België/Belgique"), "BE73735012345660", True),
    SandboxDebtorBank(DebtorBank("GEBABEBB", "BNP Paribas Fortis", "België/Belgique"),
                      "BE75001012345651", True),
    SandboxDebtorBank(DebtorBank("COBADEFF", "Commerzbank", "Deutschland"),
                      "DE89370400440532013000", True),
    SandboxDebtorBank(DebtorBank("DEUTDEFF", "Deutsche Bank", "Deutschland"),
                      "DE94500700100123456789", False),
)
#: When the sandbox's directory last changed (fixed: its list never does).
DIRECTORY_AT = datetime.fromisoformat("2026-01-01T00:00:00+00:00")


class Decision:
    """What the debtor chose on the bank's page, and the status each leads to."""

    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_AUTHORISED = "not_authorised"
    FAILED = "failed"
    STATUS: ClassVar[dict[str, TransactionStatus]] = {
        APPROVED: TransactionStatus.SUCCESS, NOT_AUTHORISED: TransactionStatus.SUCCESS,
        REJECTED: TransactionStatus.CANCELLED, FAILED: TransactionStatus.FAILURE}


#: Reason a not-authorised signer's rejection carries (pain.012 ``RjctRsn/Prtry``).
NOT_AUTHORISED_REASON = "SIGNER_NOT_AUTHORISED"


@dataclass(frozen=True)
class SandboxContract:
    """Who the sandbox acquirer serves and with which keys."""

    merchant_certificate: x509.Certificate
    acquirer: SigningPair
    issuer: SigningPair
    base_url: str
    pending: timedelta


class SandboxError(Exception):
    def __init__(self, code: str, message: str, detail: str | None = None,
                 consumer_message: str | None = None) -> None:
        super().__init__(message)
        self.error = idx.AcquirerError(
            code=code, message=message, detail=detail,
            suggested_action="Try again later or choose another way to sign."
            if code.startswith("SO") else None,
            consumer_message=consumer_message or (
                "Signing at your bank is not possible right now. Please try again later."))


def debtor_banks(product: Product) -> tuple[SandboxDebtorBank, ...]:
    return tuple(b for b in SANDBOX_BANKS if product is Product.CORE or b.b2b)


def sandbox_bank(bic: str | None) -> SandboxDebtorBank | None:
    return next((b for b in SANDBOX_BANKS if b.bank.bic == bic), None)


def answer(session: Session, endpoint: str, body: bytes, contract: SandboxContract,
           now: datetime, creditor_for: Callable[[str], pain.Party | None]) -> bytes:
    """The signed answer to one iDx request: its response, or an ``AcquirerErrorRes``."""
    product = Product.CORE
    try:
        root, request = _verified_request(body, contract, now)
        product = _product(root)
        expected = {"directory": "DirectoryReq", "transaction": "AcquirerTrxReq",
                    "status": "AcquirerStatusReq"}[endpoint]
        if request.kind != expected:
            raise SandboxError("IX1400", "Unknown message", f"{request.kind} sent to {endpoint}")
        if request.merchant_id != MERCHANT_ID:
            raise SandboxError("AP1100", "MerchantID unknown")
        if request.sub_id != SUB_ID:
            raise SandboxError("AP1200", "SubID unknown")
        if endpoint == "directory":
            response = idx.directory_response(product, ACQUIRER_ID, tuple(
                b.bank for b in debtor_banks(product)), DIRECTORY_AT, now)
        elif endpoint == "transaction":
            response = _new_transaction(session, request, product, contract, now)
        else:
            response = _status(session, request, product, contract, now, creditor_for)
    except SandboxError as exc:
        log.info("sandbox bank answers %s: %s", exc.error.code, exc.error.message)
        response = idx.error_response(product, exc.error, now)
    signed = dsig.sign_message(response, contract.acquirer)
    validate_message(signed)
    return serialize(signed)


def _verified_request(body: bytes, contract: SandboxContract, now: datetime
                      ) -> tuple[etree._Element, idx.TransactionRequestFields]:
    """The request as signed by the merchant we know; SandboxError as an acquirer answers."""
    try:
        root = parse_message(body)
    except XmlRefused as exc:
        raise SandboxError("IX1000", "Received XML not well-formed", str(exc)) from None
    try:
        validate_message(root)
    except XmlRefused as exc:
        raise SandboxError("IX1100", "Received XML not valid", str(exc)) from None
    try:
        verified = dsig.verify_message(root, [contract.merchant_certificate], now=now)
    except dsig.SignatureRefused as exc:
        raise SandboxError("SE2000", "Authentication error", str(exc)) from None
    return root, idx.read_request(verified.signed)


def _product(root: etree._Element) -> Product:
    return idx.product_of(root) or Product.CORE


def _new_transaction(session: Session, request: idx.TransactionRequestFields, product: Product,
                     contract: SandboxContract, now: datetime) -> etree._Element:
    bank = sandbox_bank(request.issuer_bic)
    if bank is None or bank not in debtor_banks(product):
        raise SandboxError("BR1200", "Issuer unknown", f"{request.issuer_bic} is not in the "
                           "directory for this product")
    if bank.bank.bic == UNAVAILABLE_BIC:
        raise SandboxError("SO1200", "System busy. Try again later",
                           consumer_message="Your bank is not available right now. Please try "
                           "again later or choose another bank.")
    if request.document is None:
        raise SandboxError("IX1600", "Mandatory value missing", "container")
    details = pain.read_mandate_document(request.document)
    if details.local_instrument != product.local_instrument:
        raise SandboxError("BR1210", "Field contains non-permitted value",
                           f"LclInstrm {details.local_instrument} for {product.name}")
    if details.kind == "pain011" and product is not Product.B2B:
        raise SandboxError("BR1210", "Field contains non-permitted value",
                           "cancellations are for B2B mandates only")
    expiration = request.expiration or MAX_EXPIRATION
    if expiration > MAX_EXPIRATION:
        raise SandboxError("BR1210", "Field contains non-permitted value",
                           "expirationPeriod longer than P7D")
    transaction = SandboxBankTransaction(
        transaction_id=_unused_transaction_id(session), page_token=secrets.token_urlsafe(32),
        product=product.value, kind=details.kind, merchant_id=request.merchant_id,
        sub_id=request.sub_id, issuer_bic=bank.bank.bic, return_url=request.return_url or "",
        entrance_code=request.entrance_code or "", language=request.language or "en",
        request_ciphertext=cipher_of(session).encrypt(
            etree.tostring(request.document, encoding="unicode"), REQUEST_CONTEXT),
        mandate_reference=details.mandate_reference, created_at=now,
        expires_at=now + expiration)
    session.add(transaction)
    session.commit()
    url = f"{contract.base_url}/sandbox-bank/authorise/{transaction.transaction_id}/" \
          f"{transaction.page_token}"
    return idx.transaction_response(product, ACQUIRER_ID, authentication_url=url,
                                    transaction_id=transaction.transaction_id, now=now)


def _unused_transaction_id(session: Session) -> str:
    while True:
        candidate = ACQUIRER_ID + "".join(secrets.choice("0123456789") for _ in range(12))
        if find_transaction(session, candidate) is None:
            return candidate


def find_transaction(session: Session, transaction_id: str) -> SandboxBankTransaction | None:
    return session.scalar(select(SandboxBankTransaction)
                          .where(SandboxBankTransaction.transaction_id == transaction_id))


def current_status(transaction: SandboxBankTransaction, now: datetime, pending: timedelta
                   ) -> tuple[TransactionStatus, datetime | None]:
    """Open until the debtor decides (Expired once the period ran out), then Pending for
    ``pending``, then the decision's status."""
    if transaction.decision is None or transaction.decided_at is None:
        if now >= transaction.expires_at:
            return TransactionStatus.EXPIRED, transaction.expires_at
        return TransactionStatus.OPEN, None
    final_at = transaction.decided_at + pending
    if now < final_at:
        return TransactionStatus.PENDING, transaction.decided_at
    return Decision.STATUS[transaction.decision], final_at


def _status(session: Session, request: idx.TransactionRequestFields, product: Product,
            contract: SandboxContract, now: datetime,
            creditor_for: Callable[[str], pain.Party | None]) -> etree._Element:
    transaction = find_transaction(session, request.transaction_id or "")
    if transaction is None or transaction.product != product.value:
        raise SandboxError("AP2600", "Transaction does not exist")
    status, status_at = current_status(transaction, now, contract.pending)
    document = None
    cipher = cipher_of(session)
    if status is TransactionStatus.SUCCESS:
        if transaction.report_ciphertext is None:
            built = _report(transaction, cipher, contract, status_at or now, creditor_for)
            transaction.report_ciphertext = cipher.encrypt(
                etree.tostring(built, encoding="unicode"), REPORT_CONTEXT)
            session.commit()
        document = parse_message(
            cipher.decrypt(transaction.report_ciphertext, REPORT_CONTEXT).encode())
    return idx.status_response(product, ACQUIRER_ID, transaction_id=transaction.transaction_id,
                               status=status, status_at=status_at, document=document, now=now)


def _report(transaction: SandboxBankTransaction, cipher: FieldCipher, contract: SandboxContract,
            now: datetime, creditor_for: Callable[[str], pain.Party | None]) -> etree._Element:
    """The debtor bank's pain.012: signed when accepted; a not-authorised signer's rejection
    goes unsigned, as banks sign only acceptances."""
    details = mandate_shown(transaction, cipher)
    creditor = creditor_for(transaction.mandate_reference) or pain.Party(
        "NL00ZZZ000000000000", "Unknown creditor", "NL", ())
    accepted = transaction.decision == Decision.APPROVED
    document = pain.acceptance_report(
        details, message_id="SBX" + secrets.token_hex(8).upper(), now=now,
        validation_reference=f"SBX-{transaction.transaction_id}-{secrets.token_hex(4).upper()}"
        if accepted else None,
        accepted=accepted, reject_reason=None if accepted else NOT_AUTHORISED_REASON,
        reject_text=None if accepted else "The signer is not authorised to sign for this company",
        creditor=creditor, debtor_name=transaction.debtor_name or "",
        debtor_iban=cipher.decrypt(transaction.debtor_iban_ciphertext, DEBTOR_IBAN_CONTEXT)
        if transaction.debtor_iban_ciphertext else "", debtor_bic=transaction.issuer_bic,
        signer_name=transaction.signer_name or transaction.debtor_name or "")
    if accepted:
        document = dsig.sign_embedded(document, pain.signature_envelope(document),
                                      contract.issuer)
    else:
        envelope = pain.signature_envelope(document)
        envelope.getparent().getparent().remove(envelope.getparent())
    validate_message(document)
    return document


def decide(transaction: SandboxBankTransaction, decision: str, *, cipher: FieldCipher,
           debtor_name: str, debtor_iban: str, signer_name: str, now: datetime) -> None:
    """Record the debtor's choice; a decided or expired transaction does not change."""
    if transaction.decision is not None:
        raise ValueError("this transaction was already decided")
    if now >= transaction.expires_at:
        raise ValueError("this transaction has expired")
    if decision not in Decision.STATUS:
        raise ValueError(f"unknown decision {decision!r}")
    if decision == Decision.NOT_AUTHORISED and transaction.product != Product.B2B.value:
        raise ValueError("only company (B2B) mandates need an authorised signer")
    transaction.decision = decision
    transaction.decided_at = now
    transaction.debtor_name = debtor_name[:140]
    transaction.debtor_iban_ciphertext = cipher.encrypt(debtor_iban, DEBTOR_IBAN_CONTEXT)
    transaction.signer_name = signer_name[:70]


def return_url(transaction: SandboxBankTransaction) -> str:
    """Where the debtor goes back to, with the iDx ``trxid`` and ``ec`` parameters."""
    separator = "&" if "?" in transaction.return_url else "?"
    return (f"{transaction.return_url}{separator}trxid={transaction.transaction_id}"
            f"&ec={transaction.entrance_code}")


def mandate_shown(transaction: SandboxBankTransaction, cipher: FieldCipher) -> pain.MandateDetails:
    """The mandate the creditor asked the debtor to sign, from the request it sent."""
    return pain.read_mandate_document(parse_message(
        cipher.decrypt(transaction.request_ciphertext, REQUEST_CONTEXT).encode()))
