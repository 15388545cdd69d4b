"""Debits: scheduling one on an active mandate (or refusing it, saying why), its date and
sequence type, cancelling it, and lowering it when the customer paid part before export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.collections.calendar import bank_today, earliest_collection_date
from portal.collections.lifecycle import DebitAction, apply_transition, debit_event_data
from portal.collections.models import (
    CollectionFlag,
    CollectionSettings,
    Debit,
    DebitAttempt,
    DebitStatus,
    FlagCode,
    PainVersion,
    Route,
    SeqType,
)
from portal.collections.routes import CollectionPolicy
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.jobs.service import enqueue
from portal.mandates.models import Mandate, MandateStatus, Scheme, SequenceType
from portal.payments.models import ProviderMandate, StoredMandateStatus
from portal.sepa import to_sepa_text

PRENOTIFICATION_JOB = "collections.prenotification"
#: The collections run (export, bank reports, expiry); it repeats itself hourly once started.
RUN_JOB = "collections.run"
#: The routes a merchant can choose: pain.008 files through its bank, or recurring SEPA
#: payments at the payment provider on the mandate the first payment left there.
AVAILABLE_ROUTES = frozenset({Route.BANK, Route.PROVIDER})
#: Attempts per debit: the first and two retries.
MAX_ATTEMPTS = 3

#: Refusal codes and the sentence each one gives the merchant.
REFUSALS: dict[str, str] = {
    "mandate_revoked": "The mandate was revoked; it can no longer be collected from.",
    "mandate_expired": "The mandate expired; ask the customer to sign a new one.",
    "mandate_not_active": "The mandate is not active (it was never signed or verified).",
    "mandate_unusable": "The debtor's account was closed (AC04); the customer needs to sign "
                        "a new mandate with another account.",
    "b2b_not_bank_confirmed": "A B2B mandate must be confirmed by the debtor's bank before it "
                              "is collected from.",
    "amendment_pending": "The mandate's account was changed and the new account is not "
                         "confirmed yet.",
    "over_b2b_maximum": "The amount is above the maximum agreed for B2B collections.",
    "one_off_used": "This one-off mandate has already been collected from.",
    "final_collected": "The final collection on this mandate was already made.",
    "no_creditor_account": "Set the account to collect into (creditor IBAN) before collecting "
                           "through the bank.",
    "no_provider_mandate": "The payment provider holds no mandate for this customer; collect "
                           "through the bank instead.",
}


class DebitRefused(Exception):
    """The debit cannot be collected; ``code`` is stable, the message says why."""

    def __init__(self, code: str) -> None:
        super().__init__(REFUSALS[code])
        self.code = code


@dataclass(frozen=True)
class MerchantCollectionSettings:
    """A merchant's collection settings, its own row over the portal's defaults."""

    route: Route
    pain_version: PainVersion
    creditor_iban: str | None
    creditor_bic: str | None
    lead_days: int
    prenotification_days: int
    retry_delays_days: tuple[int, ...]
    b2b_max_amount_cents: int | None
    amendment_invitations: bool


def effective_settings(session: Session, merchant_id: int,
                       policy: CollectionPolicy) -> MerchantCollectionSettings:
    row = session.scalar(select(CollectionSettings).where(
        CollectionSettings.merchant_id == merchant_id))
    if row is None:
        return MerchantCollectionSettings(
            route=Route.BANK, pain_version=PainVersion(policy.pain_version), creditor_iban=None,
            creditor_bic=None, lead_days=policy.lead_days,
            prenotification_days=policy.prenotification_days,
            retry_delays_days=policy.retry_delays_days, b2b_max_amount_cents=None,
            amendment_invitations=True)
    return MerchantCollectionSettings(
        route=row.route, pain_version=row.pain_version, creditor_iban=row.creditor_iban,
        creditor_bic=row.creditor_bic, lead_days=row.lead_days,
        prenotification_days=row.prenotification_days,
        retry_delays_days=tuple(row.retry_delays_days), b2b_max_amount_cents=row.b2b_max_amount_cents,
        amendment_invitations=row.amendment_invitations)


@dataclass(frozen=True)
class DebitRequest:
    mandate: Mandate
    amount_cents: int
    description: str
    invoice_number: str | None = None
    #: The checkout payment request this debit collects (its public id).
    payment_request: str | None = None
    #: Not before this date (e.g. the invoice's due date).
    requested_date: date | None = None
    #: The last collection on this mandate (FNAL).
    final: bool = False


def open_flag(session: Session, code: FlagCode, *, mandate_id: int | None = None,
              customer_id: int | None = None) -> CollectionFlag | None:
    query = select(CollectionFlag).where(CollectionFlag.code == code,
                                         CollectionFlag.cleared_at.is_(None))
    if mandate_id is not None:
        query = query.where(CollectionFlag.mandate_id == mandate_id)
    if customer_id is not None:
        query = query.where(CollectionFlag.customer_id == customer_id)
    return session.scalar(query.limit(1))


def provider_mandate_of(session: Session, mandate: Mandate) -> ProviderMandate | None:
    """The provider's SEPA mandate (Mollie ``mdt_…``) that the one-cent payment, or a checkout
    first payment, left behind for this mandate: valid, and still on the mandate's account (an
    account changed since is not what the provider would debit)."""
    candidates = session.scalars(
        select(ProviderMandate)
        .where(ProviderMandate.mandate_id == mandate.id, ProviderMandate.method == "directdebit",
               ProviderMandate.status == StoredMandateStatus.VALID)
        .order_by(ProviderMandate.id.desc()))
    for stored in candidates:
        if stored.iban_masked and mandate.iban_masked and stored.iban_masked != mandate.iban_masked:
            continue
        return stored
    return None


def _used_attempts(session: Session, mandate_id: int):
    """Attempts that count as the mandate having been used: in flight, collected or refunded
    (a rejected or returned first collection leaves the mandate unused)."""
    return select(DebitAttempt).where(
        DebitAttempt.mandate_id == mandate_id,
        (DebitAttempt.outcome.is_(None))
        | DebitAttempt.outcome.in_((DebitStatus.COLLECTED, DebitStatus.REFUNDED)))


def mandate_refusal(session: Session, mandate: Mandate) -> str | None:
    """Why nothing can be collected from this mandate now (revoked, expired, not active, its
    account closed), as a :data:`REFUSALS` code; None if it is usable."""
    if mandate.status == MandateStatus.REVOKED:
        return "mandate_revoked"
    if mandate.status == MandateStatus.EXPIRED:
        return "mandate_expired"
    if mandate.status != MandateStatus.ACTIVE:
        return "mandate_not_active"
    if open_flag(session, FlagCode.ACCOUNT_CLOSED, mandate_id=mandate.id):
        return "mandate_unusable"
    return None


def refusal(session: Session, mandate: Mandate, amount_cents: int,
            settings: MerchantCollectionSettings) -> str | None:
    """Why a debit of this amount cannot be collected from this mandate, or None."""
    if (unusable := mandate_refusal(session, mandate)) is not None:
        return unusable
    if mandate.scheme == Scheme.B2B and not mandate.bank_confirmed:
        return "b2b_not_bank_confirmed"
    if open_flag(session, FlagCode.AMENDMENT_PENDING, mandate_id=mandate.id):
        return "amendment_pending"
    if mandate.scheme == Scheme.B2B:
        limits = [limit for limit in (settings.b2b_max_amount_cents, mandate.max_amount_cents)
                  if isinstance(limit, int)]
        if limits and amount_cents > min(limits):
            return "over_b2b_maximum"
    earlier = select(func.count()).select_from(Debit).where(
        Debit.mandate_id == mandate.id,
        Debit.status.not_in((DebitStatus.CANCELLED, DebitStatus.REJECTED)))
    if mandate.sequence_type == SequenceType.ONE_OFF and session.scalar(earlier):
        return "one_off_used"
    if session.scalar(earlier.where(Debit.final.is_(True))):
        return "final_collected"
    if settings.route == Route.BANK and not settings.creditor_iban:
        return "no_creditor_account"
    if settings.route == Route.PROVIDER and provider_mandate_of(session, mandate) is None:
        return "no_provider_mandate"
    return None


def sequence_type_for(session: Session, mandate: Mandate, *, final: bool) -> SeqType:
    """OOFF for a one-off mandate; FNAL when the merchant says it is the last; RCUR once the
    mandate has been used (here, or before its import); FRST before that (and again after a
    rejected first collection)."""
    if mandate.sequence_type == SequenceType.ONE_OFF:
        return SeqType.ONE_OFF
    if final:
        return SeqType.FINAL
    used = session.scalar(select(func.count()).select_from(
        _used_attempts(session, mandate.id).subquery()))
    return SeqType.RECURRING if used or collected_elsewhere(session, mandate) else SeqType.FIRST


def collected_elsewhere(session: Session, mandate: Mandate) -> bool:
    """An imported mandate the previous creditor had collected on (its history in the batch
    it came from): its next debit here is a recurring one."""
    from portal.batches.models import ImportedMandate

    return bool(session.scalar(select(ImportedMandate.collected_before).where(
        ImportedMandate.mandate_id == mandate.id)))


def schedule_debit(session: Session, request: DebitRequest, *, policy: CollectionPolicy,
                   actor: str = "system", now: datetime | None = None) -> Debit:
    """Plan a debit for the earliest valid date (or the requested one, if later), notify the
    debtor in advance, and tell the merchant (``debit.scheduled``); raises DebitRefused."""
    now = now or clock_now()
    mandate = request.mandate
    if request.amount_cents <= 0:
        raise ValueError("amount_cents must be positive")
    settings = effective_settings(session, mandate.merchant_id, policy)
    code = refusal(session, mandate, request.amount_cents, settings)
    if code is not None:
        raise DebitRefused(code)
    collection_date = earliest_collection_date(
        bank_today(now), lead_days=settings.lead_days,
        prenotification_days=settings.prenotification_days, requested=request.requested_date)
    debit = Debit(
        public_id=new_public_id("dbt"), merchant_id=mandate.merchant_id, mandate=mandate,
        customer_id=mandate.customer_id, route=settings.route, scheme=mandate.scheme.value,
        status=DebitStatus.SCHEDULED, amount_cents=request.amount_cents,
        original_amount_cents=request.amount_cents,
        description=to_sepa_text(request.description, 140) or mandate.reference,
        invoice_number=request.invoice_number, payment_request=request.payment_request,
        final=request.final, requested_date=request.requested_date,
        collection_date=collection_date,
        sequence_type=sequence_type_for(session, mandate, final=request.final), attempt=1,
        will_retry=False, created_at=now, updated_at=now)
    session.add(debit)
    session.flush()
    record_audit(session, action="debit.schedule", subject=debit.public_id, actor=actor,
                 merchant_id=debit.merchant_id, now=now,
                 data={"mandate": mandate.public_id, "amount_cents": debit.amount_cents,
                       "collection_date": collection_date.isoformat(),
                       "route": debit.route.value})
    emit_event(session, merchant_id=debit.merchant_id, type="debit.scheduled",
               subject=debit.public_id, now=now, data=debit_event_data(debit))
    queue_prenotification(session, debit)
    schedule_run(session, now)
    return debit


def schedule_run(session: Session, at: datetime) -> None:
    """Queue the collections run for ``at`` (once per hour slot)."""
    slot = at.replace(minute=0, second=0, microsecond=0)
    enqueue(session, RUN_JOB, {}, dedupe_key=f"{RUN_JOB}:{slot.isoformat()}", run_at=at)


def queue_prenotification(session: Session, debit: Debit) -> None:
    """Tell the debtor the amount, date and mandate reference (a job, after commit)."""
    enqueue(session, PRENOTIFICATION_JOB, {"debit": debit.public_id, "attempt": debit.attempt},
            dedupe_key=f"{PRENOTIFICATION_JOB}:{debit.public_id}:{debit.attempt}")


def find_debit(session: Session, merchant_id: int, public_id: str) -> Debit | None:
    """The merchant's debit with this id; another merchant's is None, like a missing one."""
    if not looks_like(public_id, "dbt"):
        return None
    return session.scalar(select(Debit).where(Debit.public_id == public_id,
                                              Debit.merchant_id == merchant_id))


def cancel_debit(session: Session, debit: Debit, reason: str | None, *, actor: str,
                 now: datetime | None = None) -> None:
    """Cancel a debit not yet submitted (IllegalDebitTransition afterwards)."""
    apply_transition(session, debit, DebitAction.CANCEL, actor=actor, now=now,
                     data={"reason": reason} if reason else None)


def apply_payment_before_export(session: Session, debit: Debit, paid_cents: int, *,
                                actor: str, source: str, now: datetime | None = None) -> Debit:
    """The customer paid ``paid_cents`` of what this debit would collect, before it went to the
    bank: the debit is reduced to what is still open, or cancelled when nothing is (Jortt).
    IllegalDebitTransition once it was submitted: then the payment is a refund case."""
    if paid_cents <= 0:
        raise ValueError("paid_cents must be positive")
    now = now or clock_now()
    remaining = debit.amount_cents - paid_cents
    if remaining <= 0:
        apply_transition(session, debit, DebitAction.CANCEL, actor=actor, now=now,
                         data={"reason": "paid before collection", "paid_cents": paid_cents,
                               "source": source})
        return debit
    previous = debit.amount_cents
    apply_transition(session, debit, DebitAction.REDUCE, actor=actor, now=now,
                     data={"from_cents": previous, "to_cents": remaining,
                           "paid_cents": paid_cents, "source": source})
    debit.amount_cents = remaining
    emit_event(session, merchant_id=debit.merchant_id, type="debit.reduced",
               subject=debit.public_id, now=now,
               data=debit_event_data(debit, {"previous_amount": previous,
                                             "paid_amount": paid_cents}))
    return debit


class SettingsError(ValueError):
    """Invalid collection settings; ``errors`` maps field name → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def configure_collections(session: Session, merchant_id: int, *, actor: str,
                          now: datetime | None = None, **changes: object) -> CollectionSettings:
    """Create or update the merchant's collection settings, every field validated first."""
    from portal.sepa import BicError, IbanError, validate_bic, validate_iban

    now = now or clock_now()
    errors: dict[str, str] = {}
    clean: dict[str, object] = {}
    for name, value in changes.items():
        if value is None:
            continue
        try:
            if name == "route":
                clean[name] = Route(str(value))
                if clean[name] not in AVAILABLE_ROUTES:
                    raise ValueError("not an available route")
            elif name == "pain_version":
                clean[name] = PainVersion(str(value))
            elif name == "creditor_iban":
                clean[name] = validate_iban(str(value)).iban
            elif name == "creditor_bic":
                clean[name] = validate_bic(str(value))
            elif name in ("lead_days", "prenotification_days"):
                number = int(value)  # type: ignore[call-overload]
                if not 0 <= number <= 30:
                    raise ValueError("must be 0 to 30 days")
                clean[name] = number
            elif name == "retry_delays_days":
                delays = [int(day) for day in value]  # type: ignore[attr-defined]
                if len(delays) != MAX_ATTEMPTS - 1 or not all(1 <= d <= 60 for d in delays):
                    raise ValueError(f"must be {MAX_ATTEMPTS - 1} delays of 1 to 60 days")
                clean[name] = delays
            elif name == "b2b_max_amount_cents":
                number = int(value)  # type: ignore[call-overload]
                if number <= 0:
                    raise ValueError("must be a positive amount in cents")
                clean[name] = number
            elif name == "amendment_invitations":
                clean[name] = bool(value)
            else:
                raise ValueError("unknown setting")
        except (ValueError, TypeError, IbanError, BicError) as exc:
            errors[name] = str(exc)
    if errors:
        raise SettingsError(errors)
    row = session.scalar(select(CollectionSettings).where(
        CollectionSettings.merchant_id == merchant_id))
    if row is None:
        row = CollectionSettings(merchant_id=merchant_id, route=Route.BANK,
                                 pain_version=PainVersion.V02, lead_days=0,
                                 prenotification_days=14, retry_delays_days=[5, 10],
                                 amendment_invitations=True, updated_at=now)
        session.add(row)
    for name, value in clean.items():
        setattr(row, name, value)
    row.updated_at = now
    from portal.merchants.models import Merchant

    merchant = session.get(Merchant, merchant_id)
    record_audit(session, action="collections.configure",
                 subject=merchant.public_id if merchant else str(merchant_id),
                 actor=actor, merchant_id=merchant_id, now=now,
                 data={k: (v.value if hasattr(v, "value") else v) for k, v in clean.items()
                       if k != "creditor_iban"} | (
                     {"creditor_iban_changed": True} if "creditor_iban" in clean else {}))
    session.flush()
    return row
