"""What a provider's webhook names, applied: a one-cent verification (and the refund of it), a
payment on a request (its status, refunds and chargebacks), or a debit collected through the
provider (route 2 of collections: collected, failed, charged back). The provider's webhook endpoint and
the sandbox's in-process notification both come here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import Clock
from portal.payments.confirmation import apply_provider_payment, find_provider_payment
from portal.payments.models import Refund
from portal.payments.refunds import sync_refunds
from portal.providers.base import PaymentProvider
from portal.verification.service import UnknownPayment, apply_provider_status, find_payment


def apply_webhook(session: Session, provider: PaymentProvider, provider_payment_id: str, *,
                  clock: Clock) -> bool:
    """Apply what the provider now says about this payment; False if the portal does not know
    it. Commits. ProviderUnavailable propagates (the provider retries its webhook)."""
    now = clock()
    payment = find_provider_payment(session, provider.name, provider_payment_id)
    if payment is not None:
        apply_provider_payment(session, payment, provider, source="webhook", now=now)
        return True
    if _apply_to_debit(session, provider, provider_payment_id):
        return True
    try:
        verification = find_payment(session, provider.name, provider_payment_id)
    except UnknownPayment:
        return False
    apply_provider_status(session, verification, provider, source="webhook", clock=clock)
    if session.scalar(select(Refund.id).where(Refund.verification_payment_id == verification.id)):
        sync_refunds(session, provider.name, provider_payment_id,
                     provider.list_refunds(provider_payment_id), payment=None, now=now)
        session.commit()
    return True


def _apply_to_debit(session: Session, provider: PaymentProvider, provider_payment_id: str) -> bool:
    """A recurring payment collecting a debit: its outcome goes to the debit (commits)."""
    from portal.adapters import get_adapters
    from portal.collections.provider_route import find_attempt, refresh_attempt

    attempt = find_attempt(session, provider.name, provider_payment_id)
    if attempt is None:
        return False
    refresh_attempt(session, attempt, provider, get_adapters().collectors, source="webhook")
    return True
