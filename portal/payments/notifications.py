"""What a provider's webhook names, applied: a one-cent verification (and the refund of it), a
payment on a request (its status, refunds and chargebacks), or a debit collected through the
provider (route 2 of collections: collected, failed, charged back). The provider's webhook endpoint and
the sandbox's in-process notification both come here."""

from __future__ import annotations

import enum
import functools

from sqlalchemy import CompoundSelect, bindparam, inspect, literal_column, select, union_all
from sqlalchemy.orm import Session

from portal.clock import Clock
from portal.payments.confirmation import apply_provider_payment
from portal.payments.models import Payment, Refund
from portal.payments.refunds import sync_refunds
from portal.providers.base import PaymentProvider
from portal.verification.models import VerificationPayment
from portal.verification.service import Outcome, apply_provider_status_of


class Named(enum.IntEnum):
    """What a provider's payment id names in the portal, in the order they are looked for."""

    PAYMENT = 1
    DEBIT_ATTEMPT = 2
    VERIFICATION = 3


#: Outcomes after which the verification payment has no refund of ours: it did not activate
#: the mandate, and the refund of the cent is queued only when it does.
_NOT_REFUNDED = frozenset({Outcome.PENDING, Outcome.RETRY, Outcome.REJECTED})


@functools.cache
def _named() -> CompoundSelect:
    """One statement for the three lookups (kind, row id); built on first use."""
    from portal.collections.models import DebitAttempt

    def of(kind: Named, model):
        return select(literal_column(str(kind.value)).label("kind"), model.id).where(
            model.provider == bindparam("provider"),
            model.provider_payment_id == bindparam("provider_payment_id"))

    return union_all(of(Named.PAYMENT, Payment), of(Named.DEBIT_ATTEMPT, DebitAttempt),
                     of(Named.VERIFICATION, VerificationPayment))


def named_by(session: Session, provider: str, provider_payment_id: str
             ) -> tuple[Named, int] | None:
    """What this provider payment is in the portal (a request's payment, a debit's attempt or a
    one-cent verification) and its row id, in one query; None if the portal never made it."""
    found = session.execute(_named(), {"provider": provider,
                                       "provider_payment_id": provider_payment_id}).all()
    if not found:
        return None
    kind, row_id = min(found, key=lambda row: row[0])
    return Named(int(kind)), row_id


def apply_webhook(session: Session, provider: PaymentProvider, provider_payment_id: str, *,
                  clock: Clock) -> bool:
    """Apply what the provider now says about this payment; False if the portal does not know
    it. Commits. ProviderUnavailable propagates (the provider retries its webhook)."""
    named = named_by(session, provider.name, provider_payment_id)
    if named is None:
        return False
    kind, row_id = named
    if kind is Named.PAYMENT:
        payment = session.get(Payment, row_id)
        assert payment is not None
        apply_provider_payment(session, payment, provider, source="webhook", now=clock())
        return True
    if kind is Named.DEBIT_ATTEMPT:
        _apply_to_debit(session, provider, row_id)
        return True
    now = clock()
    outcome = apply_provider_status_of(session, row_id, provider_payment_id, provider,
                                       source="webhook", clock=clock)
    if _may_have_refunds(session, outcome, row_id) and session.scalar(
            select(Refund.id).where(Refund.verification_payment_id == row_id)):
        sync_refunds(session, provider.name, provider_payment_id,
                     provider.list_refunds(provider_payment_id), payment=None, now=now)
        session.commit()
    return True


def _may_have_refunds(session: Session, outcome: Outcome, verification_id: int) -> bool:
    """Whether a refund of this verification payment can exist, without asking: not after an
    outcome that did not activate, and on the activation only when it queued one just now."""
    if outcome in _NOT_REFUNDED:
        return False
    if outcome is Outcome.ACTIVATED:
        return any(isinstance(held, Refund)
                   and inspect(held).dict.get("verification_payment_id") == verification_id
                   for held in session.identity_map.values())
    return True


def _apply_to_debit(session: Session, provider: PaymentProvider, attempt_id: int) -> None:
    """A recurring payment collecting a debit: its outcome goes to the debit (commits)."""
    from portal.adapters import get_adapters
    from portal.collections.models import DebitAttempt
    from portal.collections.provider_route import refresh_attempt

    attempt = session.get(DebitAttempt, attempt_id)
    assert attempt is not None
    refresh_attempt(session, attempt, provider, get_adapters().collectors, source="webhook")
