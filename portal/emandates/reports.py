"""The debtor bank's signed pain.012 at rest: encrypted as a whole with the portal's field
cipher (it names the debtor's IBAN, name and signer), kept on the bank transaction that brought
it; decrypted byte for byte for the sealed PDF, whose ``mandate verify`` checks the bank's
signature over exactly these bytes."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import cipher_of
from portal.emandates.models import REPORT_CONTEXT, BankTransaction


class ReportMismatch(ValueError):
    """The stored report is not the one the mandate's evidence names (its SHA-256 differs)."""


def store_report(session: Session, transaction: BankTransaction, document: bytes | None) -> None:
    """Keep ``document`` (the pain.012 as signed, UTF-8) encrypted, or forget it (None)."""
    transaction.report_ciphertext = None if document is None else cipher_of(session).encrypt(
        document.decode("utf-8"), REPORT_CONTEXT)


def stored_report(session: Session, transaction: BankTransaction) -> bytes | None:
    """The pain.012 exactly as the bank signed it, or None."""
    if transaction.report_ciphertext is None:
        return None
    return cipher_of(session).decrypt(transaction.report_ciphertext, REPORT_CONTEXT).encode("utf-8")


def evidence_report(session: Session, facts: dict[str, Any]) -> bytes | None:
    """The pain.012 a mandate's evidence names (``bank_transaction`` and ``pain012_sha256``), from
    its transaction; ReportMismatch if the stored one is not that report."""
    public_id, digest = facts.get("bank_transaction"), facts.get("pain012_sha256")
    if not public_id or not digest:
        return None
    transaction = session.scalar(select(BankTransaction).where(
        BankTransaction.public_id == public_id))
    document = stored_report(session, transaction) if transaction is not None else None
    if document is None:
        raise ReportMismatch(f"the pain.012 of bank transaction {public_id} is not stored")
    if hashlib.sha256(document).hexdigest() != digest:
        raise ReportMismatch(f"the stored pain.012 of {public_id} is not the one the evidence names")
    return document
