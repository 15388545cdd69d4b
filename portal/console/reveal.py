"""Revealing a mandate's full IBAN to a staff member: only with a typed reason, which is audited
with who asked (the IBAN itself never goes into the trail or a log)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.console.models import StaffUser
from portal.mandates.models import Mandate
from portal.mandates.service import debtor_iban
from portal.names import InvalidName, clean_name
from portal.sepa import format_iban

#: A reason says what it is for ("customer disputes debit dbt_…"), not "x".
MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 300


class RevealRefused(ValueError):
    """The IBAN is not shown; the message says why."""


def reveal_iban(session: Session, staff: StaffUser, mandate: Mandate, reason: str, *,
                now: datetime, ip: str | None) -> str:
    """The mandate's IBAN, grouped for reading, after auditing who asked and why."""
    try:
        reason = clean_name(reason or "", max_length=MAX_REASON_LENGTH)
    except InvalidName as exc:
        raise RevealRefused(f"the reason {exc}") from exc
    if len(reason) < MIN_REASON_LENGTH:
        raise RevealRefused(f"give a reason of at least {MIN_REASON_LENGTH} characters")
    iban = debtor_iban(session, mandate)
    if iban is None:
        raise RevealRefused("this mandate has no account yet")
    record_audit(session, action="console.reveal_iban", subject=mandate.public_id,
                 actor=f"staff:{staff.public_id}", merchant_id=mandate.merchant_id, now=now,
                 data={"staff": staff.public_id, "ip": ip, "reason": reason,
                       "iban_masked": mandate.iban_masked})
    return format_iban(iban)
