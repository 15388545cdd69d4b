"""The provider's settlements brought in: what it paid out and kept as fees, and each merchant's
share, so a merchant's bookkeeping shows its fees and payouts where the provider reports them.

The provider account is the installation's, so a settlement may hold several merchants'
payments. Each payment, refund and chargeback in it is matched to its merchant by its provider
id; the settlement's fees (revenue − payout, exactly) are shared by what each item costs at the
settlement's own rate for its method, to the cent (largest remainder), so the shares of a
single-merchant installation add up to the payout exactly."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.bookkeeping.models import ProviderSettlement, SettlementShare
from portal.collections.models import DebitAttempt
from portal.payments.models import Payment
from portal.providers.base import (
    PaymentProvider,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementLineKind,
    SettlementsUnavailable,
)
from portal.verification.models import VerificationPayment

log = logging.getLogger(__name__)
#: The daily import job (queued by the billing run).
SETTLEMENTS_JOB = "bookkeeping.settlements"


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), ROUND_HALF_UP))


def merchants_of_payments(session: Session, provider: str,
                          payment_ids: Iterable[str]) -> dict[str, int]:
    """Provider payment id → the merchant whose payment, debit or verification it is."""
    ids = sorted(set(payment_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for model in (Payment, DebitAttempt, VerificationPayment):
            rows = session.execute(select(model.provider_payment_id, model.merchant_id)
                                   .where(model.provider == provider,
                                          model.provider_payment_id.in_(chunk)))
            found.update({payment_id: merchant_id for payment_id, merchant_id in rows})
    return found


def fee_weight(item: SettlementItem, rates: dict[str, SettlementLine]) -> Decimal:
    """What the item costs at the settlement's rate for its method (0 when none is stated)."""
    method = item.kind if item.kind in ("refund", "chargeback") else (item.method or "")
    rate = rates.get(method)
    if rate is None:
        return Decimal(0)
    fixed = rate.rate_fixed or Decimal(0)
    percentage = rate.rate_percentage or Decimal(0)
    return fixed + Decimal(item.amount_cents) / 100 * percentage / 100


def share_by_weight(total: int, weights: dict[int, Decimal]) -> dict[int, int]:
    """``total`` cents split in proportion to ``weights``, whole cents summing to ``total``
    (largest remainder; ties to the lower key)."""
    whole = sum(weights.values(), Decimal(0))
    if not weights or whole <= 0:
        return {key: 0 for key in weights}
    exact = {key: Decimal(total) * weight / whole for key, weight in weights.items()}
    shares = {key: int(value.to_integral_value(rounding=ROUND_FLOOR))
              for key, value in exact.items()}
    left = total - sum(shares.values())
    for key in sorted(exact, key=lambda k: (shares[k] - exact[k], k))[:left]:
        shares[key] += 1
    return shares


@dataclass
class _Share:
    items: int = 0
    payments: int = 0
    refunds: int = 0
    chargebacks: int = 0
    weight: Decimal = field(default_factory=Decimal)
    gross: int = 0


def record_settlement(session: Session, provider: str, settlement: Settlement,
                      items: list[SettlementItem], *, now: datetime) -> ProviderSettlement:
    """Keep (or bring up to date) one settlement and its merchants' shares."""
    revenue = _cents(sum((line.amount for line in settlement.lines
                          if line.kind is SettlementLineKind.REVENUE), Decimal(0)))
    row = session.scalar(select(ProviderSettlement).where(
        ProviderSettlement.provider == provider,
        ProviderSettlement.settlement_id == settlement.id))
    if row is None:
        row = ProviderSettlement(provider=provider, settlement_id=settlement.id, imported_at=now)
        session.add(row)
    row.reference, row.status, row.settled_at = (settlement.reference, settlement.status,
                                                 settlement.settled_at)
    row.amount_cents, row.revenue_cents = settlement.amount_cents, revenue
    row.fees_cents = revenue - settlement.amount_cents
    row.lines = [{"kind": line.kind.value, "description": line.description,
                  "method": line.method, "count": line.count, "amount": str(line.amount)}
                 for line in settlement.lines]
    row.updated_at = now
    session.flush()
    rates = {line.method: line for line in settlement.lines
             if line.kind is SettlementLineKind.COST and line.method}
    owners = merchants_of_payments(session, provider, (item.payment_id for item in items))
    shares: dict[int, _Share] = defaultdict(_Share)
    for item in items:
        merchant_id = owners.get(item.payment_id)
        if merchant_id is None:
            continue  # not the portal's (another application on the same account)
        share = shares[merchant_id]
        share.items += 1
        share.weight += fee_weight(item, rates)
        share.gross += item.amount_cents
        if item.kind == "payment":
            share.payments += item.amount_cents
        elif item.kind == "refund":
            share.refunds += item.amount_cents
        else:
            share.chargebacks += item.amount_cents
    weights = {m: s.weight for m, s in shares.items()}
    if sum(weights.values(), Decimal(0)) <= 0:
        weights = {m: Decimal(s.gross) for m, s in shares.items()}
    fees = share_by_weight(row.fees_cents, weights) if shares else {}
    session.execute(delete(SettlementShare).where(SettlementShare.settlement_id == row.id))
    for merchant_id, share in sorted(shares.items()):
        fee = fees.get(merchant_id, 0)
        session.add(SettlementShare(
            settlement_id=row.id, merchant_id=merchant_id, items=share.items,
            payments_cents=share.payments, refunds_cents=share.refunds,
            chargebacks_cents=share.chargebacks, fees_cents=fee,
            payout_cents=share.payments - share.refunds - share.chargebacks - fee))
    return row


def import_settlements(session: Session, provider: PaymentProvider, *, now: datetime,
                       limit: int = 50) -> list[str]:
    """Bring in the provider's newest settlements; none where it does not report them. The
    caller commits."""
    try:
        remote = provider.list_settlements(limit)
    except SettlementsUnavailable as exc:
        log.info("no settlements: %s", exc)
        return []
    done = []
    for settlement in remote:
        known = session.scalar(select(ProviderSettlement).where(
            ProviderSettlement.provider == provider.name,
            ProviderSettlement.settlement_id == settlement.id))
        if known is not None and known.status == "paidout" == settlement.status:
            continue  # paid out and kept: it no longer changes
        items = provider.list_settlement_items(settlement.id)
        record_settlement(session, provider.name, settlement, items, now=now)
        done.append(settlement.id)
    return done
