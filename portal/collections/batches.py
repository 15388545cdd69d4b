"""Exporting due debits as pain.008 batches: once, validated, and kept byte for byte.

An export takes the merchant's scheduled bank-route debits that are due within the horizon,
decides each one's sequence type and amendment details from the mandate's history, marks it
submitted (with its attempt and EndToEndId), and writes one file per creditor account and
scheme with one PmtInf per sequence type and collection date. The file is streamed to disk,
validated against the XSD and only then given its content name; a file that fails validation
rolls the whole export back.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from schwifty import IBAN
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.collections.calendar import (
    BANK_TIMEZONE,
    bank_today,
    earliest_submission_day,
    next_business_day,
)
from portal.collections.export_file import build_pain008_file
from portal.collections.lifecycle import DebitAction, apply_transition
from portal.collections.models import (
    ORIGINAL_IBAN_CONTEXT,
    Batch,
    Debit,
    DebitAttempt,
    DebitStatus,
    Route,
)
from portal.collections.pain008 import (
    Amendment,
    ControlSumMismatch,
    Creditor,
    PaymentGroup,
    Transaction,
)
from portal.collections.routes import CollectionRefused, Collectors
from portal.collections.service import (
    apply_payment_before_export,
    effective_settings,
    sequence_type_for,
)
from portal.collections.xsd import InvalidDocument
from portal.db import cipher_of
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.mandates.models import Customer, Mandate, SigningMethod
from portal.merchants.models import Merchant
from portal.sepa import to_sepa_text

_IBAN_CONTEXT = "mandate.iban"


class ExportRefused(CollectionRefused):
    """The merchant cannot export now; the message says what to set."""


def message_id(now: datetime) -> str:
    """A GrpHdr/MsgId: time and randomness, 26 SEPA characters."""
    return f"MP{now:%Y%m%d%H%M%S}{secrets.token_hex(5).upper()}"


def _bank(iban: str) -> tuple[str, str]:
    account = IBAN(iban, allow_invalid=True)
    return account.country_code, account.bank_code or ""


def amendment_for(session: Session, mandate: Mandate, merchant: Merchant) -> Amendment | None:
    """What changed since the bank last saw this mandate (its last attempt that was not
    rejected): reference, creditor identifier, or debtor account (SMNDA at another bank)."""
    last = session.scalar(
        select(DebitAttempt)
        .where(DebitAttempt.mandate_id == mandate.id,
               (DebitAttempt.outcome.is_(None)) | (DebitAttempt.outcome != DebitStatus.REJECTED))
        .order_by(DebitAttempt.id.desc()).limit(1))
    if last is None:
        return None
    original_reference = last.mandate_reference if last.mandate_reference != mandate.reference \
        else None
    original_creditor = last.creditor_id if last.creditor_id != merchant.creditor_id else None
    original_iban, new_agent = None, False
    # Equal hashes mean the same account; different ones may still be the same account, hashed
    # under different data keys while a rotation's `keys reencrypt` has not reached both rows.
    if last.debtor_iban_hash and last.debtor_iban_hash != mandate.iban_hash \
            and last.debtor_iban_ciphertext and mandate.iban_ciphertext:
        cipher = cipher_of(session)
        old = cipher.decrypt(last.debtor_iban_ciphertext, _IBAN_CONTEXT)
        new = cipher.decrypt(mandate.iban_ciphertext, _IBAN_CONTEXT)
        if old == new:
            pass
        elif _bank(old) == _bank(new):
            original_iban = old
        else:
            new_agent = True
    if not (original_reference or original_creditor or original_iban or new_agent):
        return None
    return Amendment(original_mandate_id=original_reference,
                     original_creditor_id=original_creditor, original_iban=original_iban,
                     new_debtor_agent=new_agent)


def _amendment_json(amendment: Amendment | None) -> dict | None:
    """The amendment as stored, without the original IBAN (its own encrypted column)."""
    if amendment is None:
        return None
    return {"original_mandate_id": amendment.original_mandate_id,
            "original_creditor_id": amendment.original_creditor_id,
            "smnda": amendment.new_debtor_agent}


def _amendment(data: dict | None, original_iban: str | None) -> Amendment | None:
    if not data:
        return None
    return Amendment(original_mandate_id=data.get("original_mandate_id"),
                     original_creditor_id=data.get("original_creditor_id"),
                     original_iban=original_iban,
                     new_debtor_agent=bool(data.get("smnda")))


def submit_attempt(session: Session, debit: Debit, merchant: Merchant, *, collection_date: date,
                   batch_id: int | None, actor: str, now: datetime,
                   provider: str | None = None) -> DebitAttempt:
    """Record the debit's current attempt as presented now and mark it submitted."""
    mandate = debit.mandate
    debit.sequence_type = sequence_type_for(session, mandate, final=debit.final)
    amendment = amendment_for(session, mandate, merchant)
    attempt = DebitAttempt(
        debit=debit, merchant_id=debit.merchant_id, mandate_id=mandate.id, number=debit.attempt,
        end_to_end_id=f"{debit.public_id[4:]}-{debit.attempt}", batch_id=batch_id,
        provider=provider, sequence_type=debit.sequence_type, collection_date=collection_date,
        amount_cents=debit.amount_cents, debtor_iban_ciphertext=mandate.iban_ciphertext,
        debtor_iban_hash=mandate.iban_hash, debtor_bic=mandate.bic,
        mandate_reference=mandate.reference, creditor_id=merchant.creditor_id,
        amendment=_amendment_json(amendment),
        original_iban_ciphertext=cipher_of(session).encrypt(
            amendment.original_iban, ORIGINAL_IBAN_CONTEXT)
        if amendment and amendment.original_iban else None, created_at=now)
    session.add(attempt)
    session.flush()
    debit.collection_date = collection_date
    apply_transition(session, debit, DebitAction.SUBMIT, actor=actor, now=now, data={
        "end_to_end_id": attempt.end_to_end_id, "attempt": attempt.number,
        "amended": amendment is not None})
    return attempt


def _transactions(session: Session, batch_id: int, sequence_type: str,
                  collection_date: date) -> Iterator[Transaction]:
    """The group's transactions read from the database in chunks, decrypted one at a time."""
    cipher = cipher_of(session)
    rows = session.execute(
        select(DebitAttempt.end_to_end_id, DebitAttempt.amount_cents,
               DebitAttempt.mandate_reference, DebitAttempt.debtor_iban_ciphertext,
               DebitAttempt.debtor_bic, DebitAttempt.amendment,
               DebitAttempt.original_iban_ciphertext, Debit.description,
               Mandate.signed_at, Mandate.created_at, Mandate.debtor_name, Mandate.signing_method,
               Mandate.validation_reference, Mandate.debtor_country, Mandate.debtor_address_line,
               Mandate.debtor_postal_code, Mandate.debtor_city, Customer.name)
        .join(Debit, Debit.id == DebitAttempt.debit_id)
        .join(Mandate, Mandate.id == DebitAttempt.mandate_id)
        .join(Customer, Customer.id == Mandate.customer_id)
        .where(DebitAttempt.batch_id == batch_id,
               DebitAttempt.sequence_type == sequence_type,
               DebitAttempt.collection_date == collection_date)
        .order_by(DebitAttempt.id)
        .execution_options(yield_per=1000))
    for row in rows:
        signed = row.signed_at or row.created_at
        # A bank-signed mandate carries the validation reference of its latest accepted
        # pain.012 (an amendment's replaces the first) where the bank's guide puts it:
        # MndtRltdInf/ElctrncSgntr.
        reference = None
        if row.signing_method == SigningMethod.BANK_EMANDATE:
            reference = row.validation_reference
        lines = tuple(line for line in (
            to_sepa_text(row.debtor_address_line or "", 70),
            to_sepa_text(f"{row.debtor_postal_code or ''} {row.debtor_city or ''}", 70)) if line)
        yield Transaction(
            end_to_end_id=row.end_to_end_id, amount_cents=row.amount_cents,
            mandate_id=row.mandate_reference, signed_on=bank_today(signed),
            debtor_name=to_sepa_text(row.debtor_name or row.name, 70) or "NOTPROVIDED",
            debtor_iban=cipher.decrypt(row.debtor_iban_ciphertext, _IBAN_CONTEXT),
            debtor_bic=row.debtor_bic, remittance=row.description,
            amendment=_amendment(row.amendment, cipher.decrypt(
                row.original_iban_ciphertext, ORIGINAL_IBAN_CONTEXT)
                if row.original_iban_ciphertext else None),
            electronic_signature=str(reference)[:1025] if reference else None,
            debtor_country=row.debtor_country, debtor_address_lines=lines)


def export_batches(session: Session, merchant_id: int, collectors: Collectors, *,
                   actor: str = "system", now: datetime | None = None) -> list[Batch]:
    """Export every due bank-route debit of the merchant; returns the new batches (none when
    nothing is due). The caller commits."""
    now = now or clock_now()
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise LookupError(f"no merchant {merchant_id}")
    settings = effective_settings(session, merchant_id, collectors.policy)
    today = bank_today(now)
    earliest = next_business_day(earliest_submission_day(today, settings.lead_days))
    horizon = today + timedelta(days=collectors.policy.export_horizon_days)
    due = session.scalars(
        select(Debit).where(Debit.merchant_id == merchant_id, Debit.route == Route.BANK,
                            Debit.status == DebitStatus.SCHEDULED,
                            Debit.collection_date <= horizon)
        .order_by(Debit.collection_date, Debit.id)).all()
    if due and not settings.creditor_iban:
        # Debits scheduled on the bank route still go through the bank after the merchant
        # chose the provider route for new ones: they need the account too.
        raise ExportRefused("Set the creditor IBAN (the account to collect into) first.")
    due = [debit for debit in due if not paid_meanwhile(session, debit, actor, now)]
    if not due:
        return []
    creditor_iban = settings.creditor_iban or ""  # set: checked above
    batches: list[Batch] = []
    for scheme in sorted({debit.scheme for debit in due}):
        batch = Batch(
            public_id=new_public_id("bat"), merchant_id=merchant_id, message_id=message_id(now),
            pain_version=settings.pain_version, scheme=scheme,
            creditor_iban=settings.creditor_iban, creditor_bic=settings.creditor_bic,
            transaction_count=0, control_sum_cents=0, payment_groups=[],
            first_collection_date=earliest, file_sha256="", file_size=0,
            delivered_to=collectors.bank.name, created_at=now)
        session.add(batch)
        session.flush()
        totals: dict[tuple[str, date], list[int]] = {}
        for debit in (d for d in due if d.scheme == scheme):
            collection_date = max(debit.collection_date, earliest)
            attempt = submit_attempt(session, debit, merchant, collection_date=collection_date,
                                     batch_id=batch.id, actor=actor, now=now)
            entry = totals.setdefault((attempt.sequence_type.value, collection_date), [0, 0])
            entry[0] += 1
            entry[1] += attempt.amount_cents
        groups = [
            PaymentGroup(payment_id=f"{batch.message_id}-{number}", scheme=scheme,
                         sequence_type=sequence, collection_date=day, count=count,
                         sum_cents=cents,
                         transactions=_transactions(session, batch.id, sequence, day))
            for number, ((sequence, day), (count, cents)) in enumerate(sorted(totals.items()), 1)]
        session.flush()
        try:
            written = build_pain008_file(
                collectors.store, version=settings.pain_version.value,
                message_id=batch.message_id,
                created_at=now.astimezone(BANK_TIMEZONE).replace(tzinfo=None),
                initiating_party=to_sepa_text(merchant.legal_name, 70),
                creditor=Creditor(name=to_sepa_text(merchant.legal_name, 70),
                                  iban=creditor_iban, bic=settings.creditor_bic,
                                  creditor_id=merchant.creditor_id),
                groups=groups)
        except (InvalidDocument, ControlSumMismatch) as exc:
            # Nothing was kept; the caller rolls the submissions back with its transaction.
            raise ExportRefused(f"the {scheme} file did not pass its checks, nothing was "
                                f"exported: {exc}") from exc
        batch.transaction_count, batch.control_sum_cents = written.count, written.sum_cents
        batch.file_sha256, batch.file_size = written.sha256, written.size
        batch.first_collection_date = min(day for _seq, day in totals)
        batch.payment_groups = [
            {"id": group.payment_id, "sequence_type": group.sequence_type,
             "collection_date": group.collection_date.isoformat(), "count": group.count,
             "sum_cents": group.sum_cents} for group in groups]
        emit_event(session, merchant_id=merchant_id, type="batch.exported",
                   subject=batch.public_id, now=now, data=batch_event_data(batch))
        collectors.bank.deliver(session, batch, written.path, now)
        batches.append(batch)
    return batches


def paid_meanwhile(session: Session, debit: Debit, actor: str, now: datetime) -> bool:
    """A debit collecting a checkout payment request follows what the customer paid on it
    before export (or, on the provider route, before its payment is created): reduced to the open amount, or cancelled when nothing is open (True)."""
    if not debit.payment_request:
        return False
    from portal.payments.service import find_payment_request, open_amount

    request = find_payment_request(session, debit.merchant_id, debit.payment_request)
    if request is None:
        return False
    still_open = open_amount(request)
    if still_open >= debit.amount_cents:
        return False
    apply_payment_before_export(session, debit, debit.amount_cents - max(still_open, 0),
                                actor=actor, source=request.public_id, now=now)
    return debit.status == DebitStatus.CANCELLED


def batch_event_data(batch: Batch) -> dict:
    return {"batch": batch.public_id, "message_id": batch.message_id,
            "pain_version": batch.pain_version.value, "scheme": batch.scheme,
            "transaction_count": batch.transaction_count,
            "control_sum": batch.control_sum_cents,
            "first_collection_date": batch.first_collection_date.isoformat(),
            "sha256": batch.file_sha256}


def find_batch(session: Session, merchant_id: int, public_id: str) -> Batch | None:
    if not looks_like(public_id, "bat"):
        return None
    return session.scalar(select(Batch).where(Batch.public_id == public_id,
                                              Batch.merchant_id == merchant_id))


def batch_debits(session: Session, batch: Batch) -> Iterable[Debit]:
    return session.scalars(select(Debit).join(DebitAttempt, DebitAttempt.debit_id == Debit.id)
                           .where(DebitAttempt.batch_id == batch.id).order_by(DebitAttempt.id))
