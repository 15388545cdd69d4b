"""Route 2, the payment provider: debits collected as recurring SEPA payments on the mandate the
provider holds (Mollie's ``mdt_…``, left behind by the one-cent payment or a checkout first
payment), so the merchant needs no contract with its own bank.

A due debit becomes an attempt and a provider payment (``sequenceType=recurring``; the attempt's
EndToEndId is the idempotency key) on the last business day before its collection date. What
the provider reports afterwards, by webhook or when polled, goes through the debit's transition
table: paid → collected; failed (with the bank's reason code), canceled or expired → rejected;
a chargeback → refunded by the debtor (MD06, or no code) or returned (any other R-code). From
there retries, consequences and the pay link are those of the bank route
(:mod:`portal.collections.retries`).
"""

from __future__ import annotations

import enum
import logging
import re
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.collections.batches import paid_meanwhile, submit_attempt
from portal.collections.calendar import bank_today, latest_submission_day
from portal.collections.models import Debit, DebitAttempt, DebitStatus, Route
from portal.collections.reasons import Consequence, consequence
from portal.collections.retries import record_collected, record_failure
from portal.collections.routes import Collectors
from portal.collections.service import (
    REFUSALS,
    cancel_debit,
    mandate_refusal,
    provider_mandate_of,
)
from portal.merchants.models import Merchant
from portal.payments.models import ProviderMandate
from portal.payments.stored import invalidate_stored_mandate
from portal.providers.base import (
    SUPPORTED_CURRENCY,
    PaymentOrder,
    PaymentProvider,
    PaymentStatus,
    ProviderChargeback,
    ProviderError,
    ProviderPayment,
    ProviderUnavailable,
    Sequence,
)

log = logging.getLogger(__name__)

#: An ISO 20022 / EPC reason code as providers pass the bank's on (Mollie ``bankReasonCode``).
_REASON_CODE = re.compile(r"[A-Z]{2}[0-9]{2}|[A-Z]{4}")
#: Chargebacks meaning the debtor took the money back (their bank's no-questions refund).
_REFUND_CODES = frozenset({None, "MD06"})
#: Provider mandates no longer worth charging after such a failure.
_MANDATE_ENDING = frozenset({Consequence.MANDATE_UNUSABLE, Consequence.REVOKE_MANDATE})


class Applied(enum.StrEnum):
    """What one provider report did to a debit."""

    COLLECTED = "collected"
    REJECTED = "rejected"
    RETURNED = "returned"
    REFUNDED = "refunded"
    #: Still open or pending at the provider.
    PENDING = "pending"
    #: Reported as it was before (webhook and poll both): nothing changed.
    REPEAT = "repeat"
    #: About an earlier attempt, the debit has moved on: nothing changed.
    EARLIER_ATTEMPT = "earlier_attempt"
    #: A change the transition table does not allow (e.g. paid, then failed): recorded only.
    INVALID = "invalid"


def find_attempt(session: Session, provider: str, provider_payment_id: str
                 ) -> DebitAttempt | None:
    """The debit attempt collected by this provider payment, if it is one."""
    return session.scalar(select(DebitAttempt).where(
        DebitAttempt.provider == provider,
        DebitAttempt.provider_payment_id == provider_payment_id))


def reason_of(remote: ProviderPayment) -> tuple[str | None, str | None]:
    """The bank's reason code when the provider passed one on, else the provider's words."""
    reason = (remote.failure_reason or "").strip()
    if _REASON_CODE.fullmatch(reason):
        return reason, None
    if reason:
        return None, f"{remote.status.value} at the provider: {reason}"
    return None, f"{remote.status.value} at the provider"


def _target(attempt: DebitAttempt, remote: ProviderPayment,
            chargebacks: list[ProviderChargeback]
            ) -> tuple[DebitStatus | None, str | None, str | None]:
    """The outcome the provider reports for the attempt: (status, reason code, reason text)."""
    standing = [c for c in chargebacks if not c.reversed]
    if remote.status == PaymentStatus.PAID and standing:
        first = standing[0]
        code = first.reason_code if first.reason_code and _REASON_CODE.fullmatch(
            first.reason_code) else None
        outcome = DebitStatus.REFUNDED if code in _REFUND_CODES else DebitStatus.RETURNED
        return outcome, code or ("MD06" if outcome == DebitStatus.REFUNDED else None), \
            first.reason
    if remote.status == PaymentStatus.PAID:
        return DebitStatus.COLLECTED, None, None
    if remote.status.is_final:
        code, text = reason_of(remote)
        return DebitStatus.REJECTED, code, text
    return None, None, None


def apply_remote(session: Session, attempt: DebitAttempt, remote: ProviderPayment,
                 chargebacks: list[ProviderChargeback], collectors: Collectors, *,
                 source: str, now: datetime) -> Applied:
    """Apply the provider's view of the attempt's payment to its debit, in the caller's
    transaction: each outcome once, through the debit's transition table."""
    debit = attempt.debit
    actor = f"provider:{attempt.provider}"
    outcome, code, text = _target(attempt, remote, chargebacks)
    if outcome is None:
        return Applied.PENDING
    if attempt.outcome == outcome:
        return Applied.REPEAT
    if attempt.number != debit.attempt:
        return Applied.EARLIER_ATTEMPT
    allowed = {DebitStatus.COLLECTED: (DebitStatus.SUBMITTED,),
               DebitStatus.REJECTED: (DebitStatus.SUBMITTED,)}.get(
        outcome, (DebitStatus.SUBMITTED, DebitStatus.COLLECTED))
    if debit.status not in allowed or attempt.outcome in (DebitStatus.RETURNED,
                                                          DebitStatus.REFUNDED):
        log.warning("debit %s: provider reported %s while %s", debit.public_id, outcome.value,
                    debit.status.value)
        record_audit(session, action="debit.invalid_report", subject=debit.public_id,
                     actor=actor, merchant_id=debit.merchant_id, now=now,
                     data={"status": debit.status.value, "reported": outcome.value,
                           "provider_payment_id": attempt.provider_payment_id,
                           "source": source})
        return Applied.INVALID
    if outcome == DebitStatus.COLLECTED:
        record_collected(session, attempt, actor=actor, now=now)
        return Applied.COLLECTED
    record_failure(session, attempt, outcome, code, text, policy=collectors.policy,
                   pay_links=collectors.pay_links, invitations=collectors.invitations,
                   actor=actor, now=now)
    if consequence(code) in _MANDATE_ENDING:
        stored = provider_mandate_of(session, debit.mandate) if debit.mandate else None
        if stored is not None:
            invalidate_stored_mandate(session, stored, f"{code} on {debit.public_id}", now=now)
    return Applied(outcome.value)


def _fetch(provider: PaymentProvider, attempt: DebitAttempt
           ) -> tuple[ProviderPayment, list[ProviderChargeback]]:
    remote = provider.get_payment(attempt.provider_payment_id or "")
    chargebacks = provider.list_chargebacks(remote.id) if remote.charged_back_cents else []
    return remote, chargebacks


def refresh_attempt(session: Session, attempt: DebitAttempt, provider: PaymentProvider,
                    collectors: Collectors, *, source: str, now: datetime | None = None
                    ) -> Applied:
    """Fetch the attempt's payment from the provider and apply it. Commits; a webhook and a
    poll at the same moment apply it once (the debit's version decides, the loser reads
    again). ProviderUnavailable propagates."""
    now = now or clock_now()
    attempt_id = attempt.id
    remote, chargebacks = _fetch(provider, attempt)
    for _ in range(3):
        try:
            current = session.get(DebitAttempt, attempt_id, populate_existing=True)
            assert current is not None
            session.refresh(current.debit)
            applied = apply_remote(session, current, remote, chargebacks, collectors,
                                   source=source, now=now)
            session.commit()
            return applied
        except StaleDataError:
            session.rollback()
    raise RuntimeError(f"debit attempt {attempt_id} could not be applied after 3 attempts")


def present(session: Session, debit: Debit, stored: ProviderMandate, provider: PaymentProvider,
            collectors: Collectors, *, actor: str, now: datetime) -> DebitAttempt:
    """Create the debit's current attempt as a recurring payment on the provider's mandate and
    apply what the provider answers. The caller commits (ProviderUnavailable: it rolls back,
    and the next run presents the debit again with the same idempotency key)."""
    merchant = session.get(Merchant, debit.merchant_id)
    assert merchant is not None
    attempt = submit_attempt(session, debit, merchant, collection_date=debit.collection_date,
                             batch_id=None, actor=actor, now=now, provider=stored.provider)
    customer = debit.customer
    try:
        remote = provider.create_payment(PaymentOrder(
            amount_cents=attempt.amount_cents, currency=SUPPORTED_CURRENCY,
            description=debit.description, redirect_url=collectors.return_url,
            webhook_url=collectors.webhook_url(stored.provider),
            metadata={"debit": debit.public_id, "end_to_end_id": attempt.end_to_end_id,
                      "mandate": debit.mandate.public_id},
            customer_name=customer.name, customer_email=customer.email,
            locale=customer.locale, sequence=Sequence.RECURRING, method=None,
            provider_customer_id=stored.provider_customer_id,
            provider_mandate_id=stored.provider_mandate_ref,
            idempotency_key=attempt.end_to_end_id))
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        # Refused outright (e.g. the mandate is no longer valid there): a rejection, no retry.
        log.warning("debit %s: provider refused the payment: %s", debit.public_id, exc)
        if exc.field == "mandateId":
            invalidate_stored_mandate(session, stored, "refused by the provider", now=now)
        record_failure(session, attempt, DebitStatus.REJECTED, None,
                       f"refused by the provider: {exc}", policy=collectors.policy,
                       pay_links=collectors.pay_links, invitations=collectors.invitations,
                       actor=f"provider:{stored.provider}", now=now)
        return attempt
    attempt.provider_payment_id = remote.id
    stored.last_charged_at = now
    chargebacks = provider.list_chargebacks(remote.id) if remote.charged_back_cents else []
    apply_remote(session, attempt, remote, chargebacks, collectors, source="create", now=now)
    return attempt


def _no_longer_collectable(session: Session, debit: Debit,
                           stored: ProviderMandate | None) -> str | None:
    """Why a scheduled debit cannot be presented any more (the mandate changed since it was
    scheduled), as a :data:`~portal.collections.service.REFUSALS` code; None if it can."""
    if (unusable := mandate_refusal(session, debit.mandate)) is not None:
        return unusable
    return None if stored is not None else "no_provider_mandate"


class ProviderCollector:
    """Route 2 behind the collector interface."""

    route: ClassVar[Route] = Route.PROVIDER
    submitted_into: ClassVar[str] = "charges"
    settled_into: ClassVar[str] = "updates"

    def submit_due(self, session: Session, merchant_id: int, collectors: Collectors, *,
                   actor: str, now: datetime) -> list[str]:
        """Create a provider payment for each of the merchant's provider-route debits due by
        the next business day; each debit commits on its own (a provider call cannot be rolled
        back with the others). A debit whose mandate can no longer be collected from is
        cancelled, saying why."""
        today = bank_today(now)
        due = session.scalars(
            select(Debit.id).where(Debit.merchant_id == merchant_id,
                                   Debit.route == Route.PROVIDER,
                                   Debit.status == DebitStatus.SCHEDULED)
            .order_by(Debit.collection_date, Debit.id)).all()
        made: list[str] = []
        for debit_id in due:
            debit = session.get(Debit, debit_id)
            if debit is None or latest_submission_day(debit.collection_date) > today:
                continue
            if paid_meanwhile(session, debit, actor, now):
                session.commit()
                continue
            stored = provider_mandate_of(session, debit.mandate)
            why = _no_longer_collectable(session, debit, stored)
            if why is not None or stored is None:
                cancel_debit(session, debit, REFUSALS[why or "no_provider_mandate"],
                             actor=actor, now=now)
                session.commit()
                continue
            provider = collectors.providers(session, stored.provider)
            try:
                attempt = present(session, debit, stored, provider, collectors, actor=actor,
                                  now=now)
                session.commit()
            except ProviderUnavailable as exc:
                session.rollback()
                log.warning("debit %s not presented, the provider is unavailable: %s",
                            debit_id, exc)
                continue
            made.append(attempt.provider_payment_id or attempt.end_to_end_id)
        return made

    def settle(self, session: Session, collectors: Collectors, *, now: datetime) -> list[str]:
        """Poll every provider payment still awaiting its outcome once its collection date
        has come (the webhook's safety net; before that the bank has said nothing);
        chargebacks on collected ones arrive by webhook."""
        waiting = session.scalars(
            select(DebitAttempt.id).join(Debit, Debit.id == DebitAttempt.debit_id)
            .where(DebitAttempt.provider.is_not(None),
                   DebitAttempt.provider_payment_id.is_not(None),
                   DebitAttempt.outcome.is_(None), Debit.status == DebitStatus.SUBMITTED,
                   DebitAttempt.collection_date <= bank_today(now))
            .order_by(DebitAttempt.id)).all()
        applied: list[str] = []
        for attempt_id in waiting:
            attempt = session.get(DebitAttempt, attempt_id)
            if attempt is None:
                continue
            provider = collectors.providers(session, attempt.provider or "")
            try:
                result = refresh_attempt(session, attempt, provider, collectors,
                                         source="poll", now=now)
            except ProviderError as exc:
                session.rollback()
                log.warning("debit attempt %s not polled: %s", attempt_id, exc)
                continue
            if result not in (Applied.PENDING, Applied.REPEAT, Applied.EARLIER_ATTEMPT):
                applied.append(attempt.end_to_end_id)
        return applied


__all__ = ["Applied", "ProviderCollector", "apply_remote", "find_attempt", "present",
           "reason_of", "refresh_attempt"]
