"""Mandates and card tokens held at the provider, for charges without the customer: a SEPA
mandate a first payment left behind (the Core mandate's account), or a card token (a card
mandate). Collections charge them; a refused or expired one falls back to the pay link."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.ids import new_public_id
from portal.mandates.models import Customer, Mandate, MandateStatus
from portal.payments.models import ProviderMandate, StoredMandateStatus
from portal.providers.base import MandateState
from portal.providers.base import ProviderMandate as RemoteMandate
from portal.sepa import mask_iban, normalize_iban

CARD = "creditcard"
SEPA = "directdebit"


def record_stored_mandate(session: Session, customer: Customer, *, provider: str,
                          remote: RemoteMandate, mandate: Mandate | None,
                          now: datetime) -> ProviderMandate:
    """Keep (or refresh) what the provider holds; the same provider mandate is one row. Looked
    up without flushing the caller's changes (one added but not yet flushed is found in the
    session), so they are written once, with this one."""
    stored = next((row for row in session.new if isinstance(row, ProviderMandate)
                   and row.provider == provider and row.provider_mandate_ref == remote.id), None)
    if stored is None:
        with session.no_autoflush:
            stored = session.scalar(select(ProviderMandate).where(
                ProviderMandate.provider == provider,
                ProviderMandate.provider_mandate_ref == remote.id))
    if stored is None:
        stored = ProviderMandate(
            public_id=new_public_id("pmd"), merchant_id=customer.merchant_id,
            customer_id=customer.id, provider=provider, provider_customer_id=remote.customer_id,
            provider_mandate_ref=remote.id, method=CARD if remote.method == CARD else SEPA,
            created_at=now)
        session.add(stored)
    stored.mandate_id = mandate.id if mandate is not None else stored.mandate_id
    valid = remote.status in (MandateState.VALID, MandateState.PENDING)
    stored.status = StoredMandateStatus.VALID if valid else StoredMandateStatus.INVALID
    stored.invalid_reason = None if valid else "invalid at the provider"
    stored.card_label, stored.card_last4 = remote.card_label, remote.card_last4
    stored.card_expiry = date.fromisoformat(remote.card_expiry) if remote.card_expiry else None
    if remote.consumer_iban:
        stored.iban_masked = mask_iban(normalize_iban(remote.consumer_iban))
    stored.updated_at = now
    record_audit(session, action="stored_mandate.record", subject=stored.public_id,
                 actor=f"provider:{provider}", merchant_id=customer.merchant_id, now=now,
                 data={"method": stored.method, "status": stored.status.value,
                       "mandate": mandate.public_id if mandate else None,
                       "card_last4": stored.card_last4})
    return stored


def usable(stored: ProviderMandate, today: date) -> bool:
    """Valid, a card not past its expiry, a SEPA mandate whose Core mandate is active."""
    if stored.status is not StoredMandateStatus.VALID:
        return False
    if stored.method == CARD:
        return stored.card_expiry is None or stored.card_expiry >= today
    return stored.mandate is not None and stored.mandate.status == MandateStatus.ACTIVE


def usable_stored_mandate(session: Session, customer: Customer, now: datetime,
                          provider: str | None = None) -> ProviderMandate | None:
    """What a charge without the customer can use: a card token first (it answers at once),
    else a SEPA mandate; the newest of each."""
    query = select(ProviderMandate).where(ProviderMandate.customer_id == customer.id,
                                          ProviderMandate.status == StoredMandateStatus.VALID)
    if provider is not None:
        query = query.where(ProviderMandate.provider == provider)
    candidates = [s for s in session.scalars(query.order_by(ProviderMandate.id.desc()))
                  if usable(s, now.date())]
    cards = [s for s in candidates if s.method == CARD]
    preferred = cards or candidates
    return preferred[0] if preferred else None


def invalidate_stored_mandate(session: Session, stored: ProviderMandate, reason: str, *,
                              now: datetime) -> None:
    """No more charges on it (refused, expired, revoked); the next request gets the link."""
    if stored.status is StoredMandateStatus.INVALID:
        return
    stored.status = StoredMandateStatus.INVALID
    stored.invalid_reason = reason[:100]
    stored.updated_at = now
    record_audit(session, action="stored_mandate.invalidate", subject=stored.public_id,
                 actor="system", merchant_id=stored.merchant_id, now=now,
                 data={"reason": reason[:100]})
