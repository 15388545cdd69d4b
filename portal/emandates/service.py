"""Signing at the debtor's bank: start a transaction (new mandate, amendment, B2B cancellation),
and apply what the bank reports exactly once. A mandate changes only on an accepted pain.012
whose mandate reference, creditor id and local instrument are ours; anything else is recorded
and changes nothing."""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.audit.service import record_audit
from portal.banks.base import (
    AcceptanceReport,
    AmendmentRequest,
    Bank,
    BankError,
    BankResponseRefused,
    CancellationRequest,
    Directory,
    MandateRequest,
    Product,
    StatusReport,
    TransactionStatus,
)
from portal.banks.directory import debtor_banks
from portal.emandates.models import BankOutcome, BankRequestKind, BankTransaction
from portal.emandates.reports import store_report
from portal.events.service import emit_event
from portal.ids import new_public_id
from portal.jobs.service import enqueue
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import (
    Invitation,
    InvitationPurpose,
    Mandate,
    MandateStatus,
    Scheme,
    SequenceType,
    SigningMethod,
)
from portal.mandates.service import debtor_iban, set_debtor_account
from portal.sepa import IbanError, validate_iban
from portal.verification.service import activate_signed_mandate

log = logging.getLogger(__name__)

STATUS_POLL_JOB = "bank.status_poll"
#: After a transaction's expiry, how long the background poll still waits for a final status.
EXPIRY_GRACE = timedelta(hours=1)
_ALPHANUMERIC = string.ascii_letters + string.digits

#: The merchant event of each outcome (accepted ones emit the lifecycle's own event instead:
#: ``mandate.active``, ``mandate.amended``, ``mandate.revoked``).
OUTCOME_EVENTS: Mapping[BankOutcome, str] = {
    BankOutcome.PENDING: "mandate.bank_pending",
    BankOutcome.NOT_AUTHORISED: "mandate.bank_not_authorised",
    BankOutcome.REJECTED: "mandate.bank_rejected",
    BankOutcome.CANCELLED: "mandate.bank_cancelled",
    BankOutcome.EXPIRED: "mandate.bank_expired",
    BankOutcome.FAILED: "mandate.bank_failed",
}
_FINAL_STATUSES: Mapping[TransactionStatus, BankOutcome] = {
    TransactionStatus.CANCELLED: BankOutcome.CANCELLED,
    TransactionStatus.EXPIRED: BankOutcome.EXPIRED,
    TransactionStatus.FAILURE: BankOutcome.FAILED,
}
#: The request each kind sends, as the pain.012 names it (``OrgnlMsgInf/MsgNmId``).
MESSAGE_NAMES = {BankRequestKind.NEW: "pain.009", BankRequestKind.AMEND: "pain.010",
                 BankRequestKind.CANCEL: "pain.011"}
KIND_OF_PURPOSE = {InvitationPurpose.SIGN: BankRequestKind.NEW,
                   InvitationPurpose.AMEND: BankRequestKind.AMEND,
                   InvitationPurpose.CANCEL: BankRequestKind.CANCEL}


@dataclass(frozen=True)
class BankSettings:
    """What the service needs from configuration, read once per app."""

    expiration: Mapping[Product, timedelta]
    poll_schedule: tuple[int, ...]
    min_check_interval: timedelta
    directory_max_age: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BankSettings:
        from portal.banks.factory import expiration_for

        return cls(
            expiration={p: expiration_for(config, p) for p in Product},
            poll_schedule=tuple(int(s) for s in config["EMANDATES_STATUS_POLL_SCHEDULE"]),
            min_check_interval=timedelta(
                seconds=float(config["EMANDATES_STATUS_MIN_INTERVAL_SECONDS"])),
            directory_max_age=timedelta(hours=float(config["EMANDATES_DIRECTORY_MAX_AGE_HOURS"])))


class BankSigningError(Exception):
    """The bank transaction could not be started; ``consumer_message`` (if any) is for the
    debtor, from the acquirer."""

    def __init__(self, message: str, consumer_message: str | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.consumer_message = consumer_message
        self.retryable = retryable


def product_of(mandate: Mandate) -> Product:
    return Product.B2B if mandate.scheme == Scheme.B2B else Product.CORE


def directory_for(session: Session, bank: Bank, scheme: Scheme, now: datetime,
                  settings: BankSettings, *, refresh: bool = False) -> Directory:
    """The banks a debtor of this scheme can choose (cached, at most daily)."""
    return debtor_banks(session, bank, Product.B2B if scheme == Scheme.B2B else Product.CORE,
                        now, max_age=settings.directory_max_age, refresh=refresh)


def _code(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


#: Built once: the signing pages ask on every step.
_LATEST_TRANSACTION = (select(BankTransaction)
                       .where(BankTransaction.mandate_id == bindparam("mandate_id"))
                       .order_by(BankTransaction.id.desc()).limit(1))


def latest_transaction(session: Session, mandate: Mandate) -> BankTransaction | None:
    return session.scalar(_LATEST_TRANSACTION, {"mandate_id": mandate.id})


def latest_transactions(session: Session, mandate_ids: list[int]) -> dict[int, BankTransaction]:
    """The latest transaction of each of these mandates (one query, for lists)."""
    if not mandate_ids:
        return {}
    newest = (select(func.max(BankTransaction.id)).where(
        BankTransaction.mandate_id.in_(mandate_ids)).group_by(BankTransaction.mandate_id))
    return {t.mandate_id: t for t in session.scalars(
        select(BankTransaction).where(BankTransaction.id.in_(newest)))}


def find_transaction(session: Session, public_id: str) -> BankTransaction | None:
    return session.scalar(select(BankTransaction).where(BankTransaction.public_id == public_id))


def _history(transaction: BankTransaction, status: str, source: str, now: datetime) -> None:
    transaction.status_history = [*transaction.status_history,
                                  {"status": status, "at": now.isoformat(), "source": source}]


def _reason(mandate: Mandate) -> str:
    """What the debtor's bank shows as the mandate's purpose (≤ 70)."""
    return (mandate.reason or f"{mandate.merchant.display_name} direct debit")[:70]


def _request(session: Session, mandate: Mandate, transaction: BankTransaction,
             kind: BankRequestKind, *,
             return_url: str, language: str, expiration: timedelta
             ) -> MandateRequest | AmendmentRequest | CancellationRequest:
    product = Product(transaction.product)
    common: dict[str, Any] = {
        "product": product, "debtor_bic": transaction.debtor_bic,
        "mandate_reference": mandate.reference, "reason": _reason(mandate),
        "debtor_reference": (mandate.customer.external_reference or mandate.customer.public_id
                             )[:35],
        "purchase_id": transaction.invitation.public_id[:35] if transaction.invitation else None,
        "sequence_type": "RCUR" if mandate.sequence_type == SequenceType.RECURRENT else "OOFF",
        "language": language, "entrance_code": transaction.entrance_code,
        "return_url": return_url, "expiration": expiration,
        "message_id": transaction.message_id}
    if kind is BankRequestKind.NEW:
        return MandateRequest(max_amount_cents=mandate.max_amount_cents
                              if product is Product.B2B else None, **common)
    iban = debtor_iban(session, mandate) or ""
    if kind is BankRequestKind.AMEND:
        return AmendmentRequest(original_iban=iban, original_debtor_bic=mandate.bic or "",
                                **common)
    return CancellationRequest(iban=iban, max_amount_cents=mandate.max_amount_cents, **common)


def start_bank_transaction(
    session: Session, bank: Bank, invitation: Invitation, debtor_bic: str, *, return_url: str,
    language: str, now: datetime, settings: BankSettings,
) -> BankTransaction:
    """Record the transaction, commit, ask the acquirer (never inside an open database
    transaction: the sandbox bank answers on the same database), then record its answer and
    schedule the background status poll. Raises BankSigningError when the acquirer refuses."""
    mandate = invitation.mandate
    kind = KIND_OF_PURPOSE[invitation.purpose]
    product = product_of(mandate)
    if kind is BankRequestKind.CANCEL and product is not Product.B2B:
        raise BankSigningError("only B2B mandates are cancelled at the debtor's bank")
    expiration = settings.expiration[product]
    transaction = BankTransaction(
        public_id=new_public_id("btx"), merchant_id=mandate.merchant_id, mandate=mandate,
        invitation=invitation, bank=bank.name, product=product.value, kind=kind.value,
        debtor_bic=debtor_bic, message_id="MP" + _code(14), entrance_code=_code(32),
        outcome=BankOutcome.OPEN.value, status_history=[], expires_at=now + expiration,
        created_at=now, updated_at=now)
    session.add(transaction)
    session.commit()
    request = _request(session, mandate, transaction, kind, return_url=return_url,
                       language=language, expiration=expiration)
    try:
        if kind is BankRequestKind.NEW:
            started = bank.new_mandate(request)  # type: ignore[arg-type]
        elif kind is BankRequestKind.AMEND:
            started = bank.amend_mandate(request)  # type: ignore[arg-type]
        else:
            started = bank.cancel_mandate(request)  # type: ignore[arg-type]
    except BankError as exc:
        transaction.outcome = BankOutcome.ERROR.value
        transaction.reason = (f"{exc.code}: " if exc.code else "") + str(exc)[:250]
        transaction.consumer_message = exc.consumer_message
        transaction.updated_at = now
        record_audit(session, action="bank.error", subject=mandate.public_id,
                     actor=f"bank:{bank.name}", merchant_id=mandate.merchant_id, now=now,
                     data={"transaction": transaction.public_id, "kind": kind.value,
                           "code": exc.code, "retryable": exc.retryable})
        session.commit()
        log.warning("bank %s refused to start %s for %s: %s", bank.name, kind.value,
                    mandate.public_id, exc)
        raise BankSigningError(str(exc), exc.consumer_message, exc.retryable) from exc
    transaction.transaction_id = started.transaction_id
    transaction.authentication_url = started.authentication_url
    transaction.status = TransactionStatus.OPEN.value
    _history(transaction, TransactionStatus.OPEN.value, "start", now)
    record_audit(session, action="bank.start", subject=mandate.public_id,
                 actor="customer", merchant_id=mandate.merchant_id, now=now,
                 data={"transaction": transaction.public_id, "kind": kind.value,
                       "bank": bank.name, "debtor_bic": debtor_bic,
                       "bank_transaction_id": started.transaction_id})
    first = settings.poll_schedule[0] if settings.poll_schedule else 60
    enqueue(session, STATUS_POLL_JOB, {"transaction": transaction.public_id},
            dedupe_key=f"{STATUS_POLL_JOB}:{transaction.public_id}",
            run_at=now + timedelta(seconds=first))
    session.commit()
    return transaction


def refresh_status(session: Session, bank: Bank, transaction: BankTransaction, *, source: str,
                   now: datetime, settings: BankSettings, force: bool = False) -> BankOutcome:
    """Ask the bank where an open transaction stands and apply it (commits); a final one is
    returned as it is. Without ``force``, asks at most every ``min_check_interval``.
    BankUnavailable propagates: the caller retries later."""
    outcome = BankOutcome(transaction.outcome)
    if outcome.is_final or transaction.transaction_id is None:
        return outcome
    if (not force and transaction.last_checked_at is not None
            and now - transaction.last_checked_at < settings.min_check_interval):
        return outcome
    try:
        report = bank.status(Product(transaction.product), transaction.transaction_id)
    except BankResponseRefused as exc:
        return _apply(session, transaction.id, None, source, now, refused=str(exc))
    return _apply(session, transaction.id, report, source, now)


def _apply(session: Session, transaction_id: int, report: StatusReport | None, source: str,
           now: datetime, refused: str | None = None) -> BankOutcome:
    for _attempt in range(3):
        try:
            outcome = _apply_locked(session, transaction_id, report, source, now, refused)
            session.commit()
            return outcome
        except StaleDataError:  # the mandate changed between our read and write: read again
            session.rollback()
    raise RuntimeError("the bank status could not be applied after 3 attempts")


def _apply_locked(session: Session, transaction_id: int, report: StatusReport | None,
                  source: str, now: datetime, refused: str | None) -> BankOutcome:
    # Writing first takes the row lock (PostgreSQL) or the write lock (SQLite): a concurrent
    # return and background poll apply the same answer once.
    session.execute(update(BankTransaction).where(BankTransaction.id == transaction_id)
                    .values(last_checked_at=now).execution_options(synchronize_session=False))
    transaction = session.get_one(BankTransaction, transaction_id, populate_existing=True)
    mandate = session.get_one(Mandate, transaction.mandate_id, populate_existing=True)
    current = BankOutcome(transaction.outcome)
    if current.is_final:
        return current
    if refused is not None or report is None:
        return _refuse(session, transaction, mandate, refused or "no status", now)
    status = report.status
    if transaction.status != status.value:
        _history(transaction, status.value, source, now)
        transaction.status = status.value
    if status is TransactionStatus.OPEN:
        return current
    if status is TransactionStatus.PENDING:
        if current is not BankOutcome.PENDING:
            _settle(session, transaction, mandate, BankOutcome.PENDING, None, now)
        return BankOutcome.PENDING
    if status is TransactionStatus.SUCCESS:
        return _apply_report(session, transaction, mandate, report, now)
    return _settle(session, transaction, mandate, _FINAL_STATUSES[status], None, now)


def _settle(session: Session, transaction: BankTransaction, mandate: Mandate,
            outcome: BankOutcome, reason: str | None, now: datetime) -> BankOutcome:
    """Record an outcome that leaves the mandate as it is, with its audit and merchant event.
    A failed new mandate stays awaiting its signature: the debtor may try again."""
    transaction.outcome = outcome.value
    transaction.reason = reason
    transaction.updated_at = now
    kind = transaction.kind
    data = {"mandate": mandate.public_id, "transaction": transaction.public_id, "kind": kind,
            "outcome": outcome.value, "reason": reason, "debtor_bank": transaction.debtor_bic}
    record_audit(session, action=f"bank.{outcome.value}", subject=mandate.public_id,
                 actor=f"bank:{transaction.bank}", merchant_id=mandate.merchant_id, now=now,
                 data={k: v for k, v in data.items() if k != "mandate"})
    emit_event(session, merchant_id=mandate.merchant_id, type=OUTCOME_EVENTS[outcome],
               subject=mandate.public_id, data=data, now=now)
    mandate.updated_at = now  # a new version: the cached signing page is not shown again
    return outcome


def _refuse(session: Session, transaction: BankTransaction, mandate: Mandate, reason: str,
            now: datetime) -> BankOutcome:
    """A report we do not trust or that is not about this mandate: audited, nothing else."""
    transaction.outcome = BankOutcome.REFUSED.value
    transaction.reason = reason[:300]
    transaction.updated_at = now
    record_audit(session, action="bank.report_refused", subject=mandate.public_id,
                 actor=f"bank:{transaction.bank}", merchant_id=mandate.merchant_id, now=now,
                 data={"transaction": transaction.public_id, "kind": transaction.kind,
                       "reason": reason[:300]})
    log.warning("refused the bank's report for %s (%s): %s", mandate.public_id,
                transaction.public_id, reason)
    return BankOutcome.REFUSED


def report_mismatch(report: AcceptanceReport, mandate: Mandate,
                    kind: BankRequestKind) -> str | None:
    """Why an accepted report cannot be about this mandate, or None if it is."""
    if report.mandate_reference != mandate.reference:
        return "the report names another mandate reference"
    if report.creditor_id != mandate.merchant.creditor_id:
        return "the report carries another creditor's identifier"
    if report.local_instrument != mandate.scheme.value:
        return (f"the report says {report.local_instrument} for a {mandate.scheme.value} "
                "mandate")
    expected = MESSAGE_NAMES[kind]
    if report.message_name_id and not report.message_name_id.startswith(expected):
        return f"the report answers {report.message_name_id}, not {expected}"
    if kind is not BankRequestKind.CANCEL:
        if not report.debtor_iban:
            return "the report names no debtor account"
        try:
            validate_iban(report.debtor_iban)
        except IbanError as exc:
            return f"the reported account is unusable: {exc.code}"
    return None


def _apply_report(session: Session, transaction: BankTransaction, mandate: Mandate,
                  status: StatusReport, now: datetime) -> BankOutcome:
    report = status.report
    kind = BankRequestKind(transaction.kind)
    if report is None:
        return _refuse(session, transaction, mandate, "Success without a report", now)
    store_report(session, transaction, report.document)
    if not report.accepted:
        if report.mandate_reference != mandate.reference:
            return _refuse(session, transaction, mandate,
                           "the rejection names another mandate reference", now)
        not_authorised = "AUTHORI" in (report.reject_reason or "").upper()
        return _settle(session, transaction, mandate,
                       BankOutcome.NOT_AUTHORISED if not_authorised else BankOutcome.REJECTED,
                       report.reject_reason, now)
    mismatch = report_mismatch(report, mandate, kind)
    if mismatch is not None:
        store_report(session, transaction, None)  # not evidence of anything of ours
        return _refuse(session, transaction, mandate, mismatch, now)
    expected_status = (MandateStatus.AWAITING_VERIFICATION if kind is BankRequestKind.NEW
                       else MandateStatus.ACTIVE)
    if mandate.status != expected_status:
        return _refuse(session, transaction, mandate,
                       f"the mandate is {mandate.status.value} by now", now)
    transaction.outcome = BankOutcome.ACCEPTED.value
    transaction.validation_reference = report.validation_reference
    transaction.updated_at = now
    if kind is BankRequestKind.NEW:
        _activate(session, transaction, mandate, report, now)
    elif kind is BankRequestKind.AMEND:
        _amend(session, transaction, mandate, report, now)
    else:
        _cancel(session, transaction, mandate, report, now)
    return BankOutcome.ACCEPTED


def _bank_evidence(transaction: BankTransaction, report: AcceptanceReport) -> dict[str, Any]:
    return {
        "bank": transaction.bank, "bank_transaction": transaction.public_id,
        "bank_transaction_id": transaction.transaction_id,
        "bank_status_history": transaction.status_history,
        "debtor_bank": report.debtor_bic or transaction.debtor_bic,
        "validation_reference": report.validation_reference,
        "bank_message_id": report.message_id,
        "bank_certificate_sha1": report.bank_certificate,
        "signer_name": report.signer_name,
        "account_holder": report.debtor_name,
        "pain012_sha256": hashlib.sha256(report.document).hexdigest(),
    }


def _take_account(session: Session, mandate: Mandate, report: AcceptanceReport) -> None:
    account = validate_iban(report.debtor_iban or "")
    set_debtor_account(session, mandate, account.iban, report.debtor_bic or account.bic)
    if report.debtor_name:
        mandate.debtor_name = report.debtor_name[:140]
    mandate.signer_name = (report.signer_name or "")[:70] or None
    mandate.validation_reference = report.validation_reference


def _activate(session: Session, transaction: BankTransaction, mandate: Mandate,
              report: AcceptanceReport, now: datetime) -> None:
    typed_masked, typed_hash = mandate.iban_masked, mandate.iban_hash
    _take_account(session, mandate, report)
    mandate.signing_method = SigningMethod.BANK_EMANDATE
    mandate.signed_at = now
    mandate.evidence = {
        **(mandate.evidence or {}), "verified_at": now.isoformat(),
        **_bank_evidence(transaction, report),
        "typed_iban_masked": typed_masked, "reported_iban_masked": mandate.iban_masked,
        "iban_reported_by_bank": True,
        "iban_changed": typed_hash is not None and typed_hash != mandate.iban_hash,
    }
    activate_signed_mandate(session, mandate, actor=f"bank:{transaction.bank}", now=now, data={
        "transaction": transaction.public_id,
        "bank_transaction_id": transaction.transaction_id,
        "validation_reference": report.validation_reference,
        "reported_iban_masked": mandate.iban_masked,
        "reported_iban_hash": mandate.iban_hash,
        "signer_name": mandate.signer_name,
        "pain012_sha256": hashlib.sha256(report.document).hexdigest()})
    log.info("mandate %s activated by bank %s transaction %s", mandate.public_id,
             transaction.bank, transaction.public_id)


def _amend(session: Session, transaction: BankTransaction, mandate: Mandate,
           report: AcceptanceReport, now: datetime) -> None:
    before = {"iban_masked": mandate.iban_masked, "iban_hash": mandate.iban_hash,
              "bic": mandate.bic}
    _take_account(session, mandate, report)
    amendments = [*(mandate.evidence or {}).get("amendments", []), {
        "at": now.isoformat(), **_bank_evidence(transaction, report),
        "previous_iban_masked": before["iban_masked"], "iban_masked": mandate.iban_masked}]
    mandate.evidence = {**(mandate.evidence or {}), "amendments": amendments}
    _close_invitation(transaction, now)
    apply_transition(session, mandate, MandateAction.AMEND, actor=f"bank:{transaction.bank}",
                     now=now, data={
                         "transaction": transaction.public_id, "reason": "account changed",
                         "previous_iban_masked": before["iban_masked"],
                         "previous_iban_hash": before["iban_hash"],
                         "previous_bic": before["bic"], "iban_masked": mandate.iban_masked,
                         "iban_hash": mandate.iban_hash, "bic": mandate.bic,
                         "validation_reference": report.validation_reference})


def _cancel(session: Session, transaction: BankTransaction, mandate: Mandate,
            report: AcceptanceReport, now: datetime) -> None:
    mandate.evidence = {**(mandate.evidence or {}), "cancellation": {
        "at": now.isoformat(), **_bank_evidence(transaction, report)}}
    _close_invitation(transaction, now)
    apply_transition(session, mandate, MandateAction.REVOKE, actor=f"bank:{transaction.bank}",
                     now=now, data={"transaction": transaction.public_id,
                                    "reason": "cancelled at the debtor's bank",
                                    "validation_reference": report.validation_reference})


def _close_invitation(transaction: BankTransaction, now: datetime) -> None:
    if transaction.invitation is not None and transaction.invitation.used_at is None:
        transaction.invitation.used_at = now


def next_poll(transaction: BankTransaction, now: datetime,
              schedule: tuple[int, ...]) -> datetime | None:
    """When the background poll asks again: along ``schedule`` (seconds between checks from
    the start, the last repeating), at the latest just after the expiry; None once the expiry
    is past by the grace period (stop)."""
    if BankOutcome(transaction.outcome).is_final:
        return None
    deadline = transaction.expires_at + EXPIRY_GRACE
    if now >= deadline:
        return None
    steps = schedule or (60,)
    elapsed = (now - transaction.created_at).total_seconds()
    offset = 0
    for step in steps:
        offset += step
        if offset > elapsed:
            break
    else:
        offset += steps[-1] * (int((elapsed - offset) // steps[-1]) + 1)
    at = transaction.created_at + timedelta(seconds=offset)
    if now < transaction.expires_at:
        at = min(at, transaction.expires_at + timedelta(seconds=1))
    return min(at, deadline)


def give_up(session: Session, transaction: BankTransaction, now: datetime) -> BankOutcome:
    """The bank never gave a final status, long after the transaction expired: treat it as
    expired (a late Success would need a new transaction)."""
    mandate = session.get_one(Mandate, transaction.mandate_id)
    outcome = _settle(session, transaction, mandate, BankOutcome.EXPIRED,
                      "no final status from the bank after the expiry", now)
    session.commit()
    return outcome
