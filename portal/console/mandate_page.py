"""The mandate page for people: its status in words (an abandoned attempt named as such), the
evidence as a table, the timeline, and what a bank-signed mandate adds (the pain.012)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.console.service import MandateRecord, mandate_record
from portal.console.timeline import Entry, build_timeline
from portal.emandates.models import BankOutcome, BankTransaction
from portal.mandates.models import (
    Invitation,
    InvitationPurpose,
    Mandate,
    MandateStatus,
)
from portal.providers.base import PaymentStatus
from portal.verification.models import VerificationPayment
from signing import PdfStore

#: The evidence's keys in words, in the order a dispute reads them; others follow as stored.
EVIDENCE_LABELS = {
    "consent_at": "Consent given at",
    "ip": "IP address",
    "user_agent": "Browser (user agent)",
    "locale": "Language of the mandate text",
    "text_version": "Version of the mandate text",
    "embedded": "Signed in the merchant's page (embedded)",
    "typed_iban_masked": "Account typed by the customer",
    "verified_at": "Account verified at",
    "provider": "Payment provider",
    "payment": "Verification payment",
    "provider_payment_id": "Provider's payment id",
    "payment_status_history": "Payment statuses",
    "reported_iban_masked": "Account reported by the bank",
    "iban_reported_by_bank": "Account reported by the bank",
    "iban_changed": "Paid from another account than typed",
    "bank_transaction": "Bank transaction",
    "validation_reference": "Bank's validation reference",
    "signer_name": "Signed at the bank by",
    "pain012_sha256": "pain.012 (SHA-256)",
}


@dataclass
class EvidenceRow:
    label: str
    value: str


@dataclass
class MandatePage:
    record: MandateRecord
    timeline: list[Entry]
    evidence: list[EvidenceRow]
    #: Why a mandate still "waiting" is in fact abandoned (a key of ``ABANDONED_LABELS``).
    abandoned: str | None
    transactions: list[BankTransaction]
    #: Signed at the debtor's bank with an accepted pain.012 named by the evidence.
    has_pain012: bool


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(
            " ".join(str(item.get(key)) for key in ("status", "at", "source") if item.get(key))
            if isinstance(item, dict) else str(item) for item in value) or "—"
    return str(value)


def evidence_rows(evidence: dict[str, Any] | None, prefix: str = "") -> list[EvidenceRow]:
    """The evidence flattened into labelled rows: known keys first, nested records by path."""
    if not evidence:
        return []
    known = [key for key in EVIDENCE_LABELS if key in evidence]
    rows = []
    for key in known + sorted(set(evidence) - set(known)):
        value = evidence[key]
        label = prefix + EVIDENCE_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, dict):
            rows += evidence_rows(value, f"{label} › ")
        else:
            rows.append(EvidenceRow(label, _text(value)))
    return rows


_GIVEN_UP = {PaymentStatus.FAILED: "payment_failed", PaymentStatus.CANCELED: "payment_canceled",
             PaymentStatus.EXPIRED: "payment_expired"}
_BANK_ENDED = {BankOutcome.CANCELLED, BankOutcome.EXPIRED, BankOutcome.FAILED,
               BankOutcome.REJECTED, BankOutcome.NOT_AUTHORISED, BankOutcome.ERROR,
               BankOutcome.REFUSED}


def abandoned_attempt(mandate: Mandate, invitations: list[Invitation],
                      payments: list[VerificationPayment], transactions: list[BankTransaction],
                      now: datetime) -> str | None:
    """For a mandate not signed or not confirmed yet: whether its last attempt was given up
    (the verification payment failed, was cancelled or expired; the bank ended it; every link
    expired or was withdrawn), which its status alone would show as waiting forever."""
    if mandate.status is MandateStatus.AWAITING_VERIFICATION:
        attempts: list[tuple[datetime, str | None]] = [
            (p.updated_at, _GIVEN_UP.get(p.status)) for p in payments]
        attempts += [(t.updated_at, "bank_ended" if BankOutcome(t.outcome) in _BANK_ENDED
                      else None) for t in transactions if t.kind == "new"]
        return max(attempts, key=lambda pair: pair[0])[1] if attempts else None
    if mandate.status is not MandateStatus.INVITED:
        return None
    signing = [i for i in invitations if i.purpose is InvitationPurpose.SIGN]
    if not signing or any(i.used_at for i in signing):
        return None
    if all(i.withdrawn_at for i in signing):
        return "invitation_withdrawn"
    if all(i.withdrawn_at or i.expires_at <= now for i in signing):
        return "invitation_expired"
    return None


def _by_mandate(session: Session, model: Any, mandate_ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {mandate_id: [] for mandate_id in mandate_ids}
    if not mandate_ids:
        return found
    for row in session.scalars(select(model).where(model.mandate_id.in_(mandate_ids))
                               .order_by(model.id)):
        found[row.mandate_id].append(row)
    return found


def abandoned_attempts(session: Session, mandates: list[Mandate],
                       now: datetime) -> dict[int, str]:
    """:func:`abandoned_attempt` for a page of search results: the links of those invited, the
    payments and bank attempts of those signed, in a query each (none when nobody waits)."""
    invited = [m.id for m in mandates if m.status is MandateStatus.INVITED]
    signed = [m.id for m in mandates if m.status is MandateStatus.AWAITING_VERIFICATION]
    invitations = _by_mandate(session, Invitation, invited)
    payments = _by_mandate(session, VerificationPayment, signed)
    transactions = _by_mandate(session, BankTransaction, signed)
    return {mandate.id: key for mandate in mandates if mandate.id in invited + signed
            and (key := abandoned_attempt(mandate, invitations.get(mandate.id, []),
                                          payments.get(mandate.id, []),
                                          transactions.get(mandate.id, []), now))}


def mandate_page(session: Session, mandate: Mandate, store: PdfStore, certificate: Any, *,
                 now: datetime) -> MandatePage:
    record = mandate_record(session, mandate, store, certificate)
    transactions = list(session.scalars(select(BankTransaction).where(
        BankTransaction.mandate_id == mandate.id).order_by(BankTransaction.id)))
    timeline = build_timeline(session, mandate_id=mandate.id, invitations=record.invitations,
                              payments=record.payments, audit_events=record.audit_events,
                              events=record.events, transactions=transactions, now=now)
    evidence = mandate.evidence or {}
    return MandatePage(
        record=record, timeline=timeline, evidence=evidence_rows(evidence),
        abandoned=abandoned_attempt(mandate, record.invitations, record.payments,
                                    transactions, now),
        transactions=transactions,
        has_pain012=bool(evidence.get("pain012_sha256") and evidence.get("bank_transaction")))
