"""Mandates unused for 36 months after their last collection (here, or at the creditor they were
imported from) or their signature expire, as
the SEPA rulebook says; each one through the mandate state machine (``mandate.expired``)."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.batches.models import ImportedMandate
from portal.clock import now as clock_now
from portal.collections.models import DebitAttempt, DebitStatus
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import Mandate, MandateStatus


def expire_unused_mandates(session: Session, months: int, *,
                           now: datetime | None = None) -> list[str]:
    """Expire every active mandate whose last use is more than ``months`` ago; returns their
    public ids. A collection that was rejected before settlement does not count as use."""
    now = now or clock_now()
    cutoff = now - relativedelta(months=months)
    last_use = (select(DebitAttempt.mandate_id, func.max(DebitAttempt.created_at).label("at"))
                .where(or_(DebitAttempt.outcome.is_(None),
                           DebitAttempt.outcome != DebitStatus.REJECTED))
                .group_by(DebitAttempt.mandate_id).subquery())
    stale = session.scalars(
        select(Mandate).outerjoin(last_use, last_use.c.mandate_id == Mandate.id)
        .outerjoin(ImportedMandate, ImportedMandate.mandate_id == Mandate.id)
        .where(Mandate.status == MandateStatus.ACTIVE,
               func.coalesce(last_use.c.at, ImportedMandate.last_collected_at,
                             Mandate.signed_at, Mandate.created_at) < cutoff)
        .order_by(Mandate.id)).all()
    for mandate in stale:
        apply_transition(session, mandate, MandateAction.EXPIRE, actor="collections", now=now,
                         data={"reason": f"unused for {months} months"})
    return [mandate.public_id for mandate in stale]
