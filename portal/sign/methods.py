"""The ways a debtor can sign, behind one interface: the one-cent payment (Core) and signing at
their own bank (Core and B2B). The signing pages ask a flow to start, to refresh after the
debtor comes back, and what the latest attempt came to; they never know which flow it is."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import String, bindparam, cast, literal, null, select, type_coerce, union_all
from sqlalchemy.orm import Session

from portal.banks.base import Bank, BankError
from portal.clock import Clock
from portal.emandates.models import BankOutcome, BankTransaction
from portal.emandates.service import (
    BankSettings,
    BankSigningError,
    latest_transaction,
    refresh_status,
    start_bank_transaction,
)
from portal.mandates.models import Invitation, Mandate, MandateStatus, SigningMethod
from portal.providers import PaymentProvider, PaymentStatus, ProviderError
from portal.verification.models import VerificationPayment
from portal.verification.service import apply_provider_status, latest_payment, start_verification

log = logging.getLogger(__name__)


class AttemptState(enum.StrEnum):
    #: The debtor is at the provider or bank.
    OPEN = "open"
    #: Done there; the provider or bank is still confirming.
    PENDING = "pending"
    #: It came to an end without a signature: the debtor may try again.
    RETRY = "retry"
    #: It changed the mandate.
    DONE = "done"


@dataclass(frozen=True)
class Attempt:
    """The latest try of one method, as the pages show it."""

    method: SigningMethod
    state: AttemptState
    #: The provider's status or the bank outcome (``canceled``, ``not_authorised``, …).
    outcome: str
    created_at: datetime
    #: The acquirer's message for the debtor, when it gave one.
    message: str | None = None


class MethodUnavailable(Exception):
    """The provider or bank could not start; ``message`` is for the debtor when it gave one."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "unavailable")
        self.message = message


class SigningFlow(Protocol):
    method: SigningMethod
    #: Whether the waiting page asks the provider or bank (no webhooks) or only reads ours.
    refreshes_while_waiting: bool

    def start(self, session: Session, invitation: Invitation, debtor_bic: str | None, *,
              return_url: str, now: datetime) -> str:
        """Start after the consent was recorded in ``session``; commits and returns where to
        send the debtor, or raises MethodUnavailable (having rolled back or recorded why)."""
        ...

    def latest(self, session: Session, mandate: Mandate) -> Attempt | None:
        ...

    def refresh(self, session: Session, mandate: Mandate, *, source: str,
                now: datetime) -> Attempt | None:
        """Ask the provider or bank about the latest attempt and apply it (commits)."""
        ...


_PAYMENT_STATE = {PaymentStatus.OPEN: AttemptState.OPEN, PaymentStatus.PENDING: AttemptState.PENDING,
                  PaymentStatus.PAID: AttemptState.DONE}


class PaymentVerificationFlow:
    """The one-cent iDEAL payment from the account (portal.verification)."""

    method = SigningMethod.PAYMENT_VERIFICATION
    refreshes_while_waiting = False  # the provider's webhook settles it

    def __init__(self, provider: PaymentProvider, webhook_url: Callable[[PaymentProvider], str],
                 *, provider_named: Callable[[str], PaymentProvider | None], clock: Clock) -> None:
        """``provider`` takes new payments (the app's); ``provider_named`` finds the one a
        stored payment names (None when this portal no longer runs it)."""
        self.provider = provider
        self._webhook_url = webhook_url
        self._provider_named = provider_named
        self._clock = clock

    def start(self, session: Session, invitation: Invitation, debtor_bic: str | None, *,
              return_url: str, now: datetime) -> str:
        try:
            payment = start_verification(session, invitation.mandate, self.provider,
                                         return_url=return_url,
                                         webhook_url=self._webhook_url(self.provider), now=now)
        except ProviderError:
            log.warning("payment provider refused to start a verification", exc_info=True)
            session.rollback()
            raise MethodUnavailable() from None
        session.commit()
        log.info("mandate %s awaits verification payment %s", invitation.mandate.public_id,
                 payment.public_id)
        return payment.checkout_url or ""

    def latest(self, session: Session, mandate: Mandate) -> Attempt | None:
        return payment_attempt(session, mandate)

    def refresh(self, session: Session, mandate: Mandate, *, source: str,
                now: datetime) -> Attempt | None:
        payment = latest_payment(session, mandate)
        if payment is not None and not payment.status.is_final:
            provider = self._provider_named(payment.provider)
            try:
                if provider is None:  # a provider this portal no longer runs
                    raise ProviderError(f"payment provider {payment.provider!r} is not configured")
                apply_provider_status(session, payment, provider, source=source,
                                      clock=self._clock)
            except ProviderError:
                log.warning("provider unavailable on %s; the webhook will settle it", source,
                            exc_info=True)
        return self.latest(session, mandate)


_BANK_STATE = {BankOutcome.OPEN: AttemptState.OPEN, BankOutcome.PENDING: AttemptState.PENDING,
               BankOutcome.ACCEPTED: AttemptState.DONE}


class BankEmandateFlow:
    """Signing at the debtor's own bank through eMandates (portal.emandates)."""

    method = SigningMethod.BANK_EMANDATE
    refreshes_while_waiting = True  # iDx has no webhooks

    def __init__(self, bank: Bank, settings: BankSettings) -> None:
        self.bank = bank
        self.settings = settings

    def start(self, session: Session, invitation: Invitation, debtor_bic: str | None, *,
              return_url: str, now: datetime) -> str:
        if not debtor_bic:
            raise MethodUnavailable()
        session.commit()  # the consent is kept, whatever the bank answers
        try:
            transaction = start_bank_transaction(
                session, self.bank, invitation, debtor_bic, return_url=return_url,
                language=invitation.mandate.locale[:2], now=now, settings=self.settings)
        except BankSigningError as exc:
            raise MethodUnavailable(exc.consumer_message) from None
        return transaction.authentication_url or ""

    def latest(self, session: Session, mandate: Mandate) -> Attempt | None:
        return bank_attempt(session, mandate)

    def refresh(self, session: Session, mandate: Mandate, *, source: str,
                now: datetime) -> Attempt | None:
        transaction = latest_transaction(session, mandate)
        if transaction is not None:
            try:
                refresh_status(session, self.bank, transaction, source=source, now=now,
                               settings=self.settings)
            except BankError:
                session.rollback()
                log.warning("bank status unavailable on %s; asking again later", source,
                            exc_info=True)
        return self.latest(session, mandate)


#: What an attempt shows of the latest payment and bank transaction: a few columns, not the
#: whole rows (the signing pages ask on every step). Built once.
_LATEST_PAYMENT_STATE = (select(VerificationPayment.status, VerificationPayment.created_at)
                         .where(VerificationPayment.mandate_id == bindparam("mandate_id"))
                         .order_by(VerificationPayment.id.desc()).limit(1))
_LATEST_BANK_STATE = (select(BankTransaction.outcome, BankTransaction.created_at,
                             BankTransaction.consumer_message)
                      .where(BankTransaction.mandate_id == bindparam("mandate_id"))
                      .order_by(BankTransaction.id.desc()).limit(1))


def payment_attempt(session: Session, mandate: Mandate) -> Attempt | None:
    """The latest one-cent payment, as an attempt (from the records alone)."""
    row = session.execute(_LATEST_PAYMENT_STATE, {"mandate_id": mandate.id}).first()
    if row is None:
        return None
    status, created_at = row
    state = _PAYMENT_STATE.get(status, AttemptState.RETRY)
    return Attempt(SigningMethod.PAYMENT_VERIFICATION, state, status.value, created_at)


def bank_attempt(session: Session, mandate: Mandate) -> Attempt | None:
    """The latest signing at the debtor's bank, as an attempt (from the records alone)."""
    row = session.execute(_LATEST_BANK_STATE, {"mandate_id": mandate.id}).first()
    if row is None:
        return None
    outcome = BankOutcome(row.outcome)
    return Attempt(SigningMethod.BANK_EMANDATE, _BANK_STATE.get(outcome, AttemptState.RETRY),
                   outcome.value, row.created_at, row.consumer_message)


#: The latest payment and the latest bank transaction of a mandate in one statement (the
#: signing pages ask for both on every step): (method, status or outcome, created_at, message).
_LATEST_STATES = union_all(
    *(select(literal(method.value, String).label("method"), type_coerce(state, String),
             created_at, message)
      .where(mandate_id == bindparam("mandate_id")).order_by(row_id.desc()).limit(1)
      .subquery().select()
      for method, state, created_at, message, mandate_id, row_id in (
          (SigningMethod.PAYMENT_VERIFICATION, VerificationPayment.status,
           VerificationPayment.created_at, cast(null(), String(512)),
           VerificationPayment.mandate_id, VerificationPayment.id),
          (SigningMethod.BANK_EMANDATE, BankTransaction.outcome, BankTransaction.created_at,
           BankTransaction.consumer_message, BankTransaction.mandate_id, BankTransaction.id))))


def recorded_attempts(session: Session, mandate: Mandate) -> dict[SigningMethod, Attempt]:
    """The latest attempt of each method that has one, from the records alone, in one query
    (as :func:`payment_attempt` and :func:`bank_attempt` give them)."""
    attempts: dict[SigningMethod, Attempt] = {}
    for method, value, created_at, message in session.execute(
            _LATEST_STATES, {"mandate_id": mandate.id}):
        if method == SigningMethod.PAYMENT_VERIFICATION:
            status = PaymentStatus(value)
            attempts[SigningMethod.PAYMENT_VERIFICATION] = Attempt(
                SigningMethod.PAYMENT_VERIFICATION, _PAYMENT_STATE.get(status, AttemptState.RETRY),
                status.value, created_at)
        else:
            outcome = BankOutcome(value)
            attempts[SigningMethod.BANK_EMANDATE] = Attempt(
                SigningMethod.BANK_EMANDATE, _BANK_STATE.get(outcome, AttemptState.RETRY),
                outcome.value, created_at, message)
    return attempts


def recorded_attempt(session: Session, mandate: Mandate) -> Attempt | None:
    """The newest attempt of either method as recorded, without asking the provider or bank
    (the console's counter screen follows it; the signing pages refresh it first)."""
    attempts = recorded_attempts(session, mandate)
    return max((attempts[method] for method in (SigningMethod.PAYMENT_VERIFICATION,
                                                SigningMethod.BANK_EMANDATE)
                if method in attempts), key=lambda attempt: attempt.created_at, default=None)


def latest_attempt(session: Session, mandate: Mandate,
                   flows: dict[SigningMethod, SigningFlow]) -> tuple[SigningFlow, Attempt] | None:
    """The most recent attempt of any method on offer, with its flow, in one query (none,
    without a query, while the mandate is still invited: every method starts after the consent
    moved it on). Every flow's ``latest`` reads the records, as this does for all at once."""
    if mandate.status == MandateStatus.INVITED:
        return None
    recorded = recorded_attempts(session, mandate)
    attempts = [(flow, recorded[method]) for method, flow in flows.items() if method in recorded]
    return max(attempts, key=lambda pair: pair[1].created_at) if attempts else None
