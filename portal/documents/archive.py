"""Renew the archive timestamps of stored mandate PDFs before their TSA certificates expire.

A renewal appends validation data and a new document timestamp to the PDF, so the file gets
new bytes and a new content address: the new file is stored first, then the record points at
it, in one transaction with its audit entry. The previous file stays in the add-only store
(it is a prefix of the new one), so a crash between the two leaves the record on a good file
and the next run simply renews it again. One PDF per transaction, its row locked with
SKIP LOCKED, so runs can overlap each other and the live portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.documents.models import MandatePdf
from signing.storage import PdfStore

if TYPE_CHECKING:  # pyHanko loads with the first renewal, not with every app
    from signing import Sealer

RENEWED = "mandate.pdf.retimestamped"
RENEWAL_FAILED = "mandate.pdf.retimestamp_failed"


@dataclass(frozen=True)
class RenewalOutcome:
    mandate: str
    outcome: Literal["renewed", "failed", "not_due"]
    old_sha256: str
    new_sha256: str | None = None
    renew_by: datetime | None = None
    reason: str | None = None


def renewal_due_before(now: datetime, renewal_days: int) -> datetime:
    """PDFs whose newest archive timestamp expires before this moment are due."""
    return now + timedelta(days=renewal_days)


def _due(due_before: datetime):
    return or_(MandatePdf.archive_renew_by.is_(None), MandatePdf.archive_renew_by < due_before)


def pdfs_due(session: Session, due_before: datetime, after_id: int = 0, limit: int = 50
             ) -> list[int]:
    """Ids of the next `limit` PDFs due for renewal, in id order after `after_id`."""
    return list(session.scalars(
        select(MandatePdf.id).where(_due(due_before), MandatePdf.id > after_id)
        .order_by(MandatePdf.id).limit(limit)))


def count_due(session: Session, due_before: datetime) -> int:
    return session.scalar(select(func.count()).select_from(MandatePdf)
                          .where(_due(due_before))) or 0


def renew_pdf(session: Session, pdf_id: int, *, sealer: Sealer, store: PdfStore,
              now: datetime, due_before: datetime) -> RenewalOutcome | None:
    """Renew one PDF in the caller's transaction; ``None`` if another run holds it."""
    from signing import ArchiveRenewalError, add_archive_timestamp, renew_by

    record = session.scalar(select(MandatePdf).where(MandatePdf.id == pdf_id)
                            .with_for_update(skip_locked=True))
    if record is None:
        return None
    mandate = record.mandate
    if record.archive_renew_by is not None and record.archive_renew_by >= due_before:
        return RenewalOutcome(mandate.public_id, "not_due", record.sha256,
                              renew_by=record.archive_renew_by)
    old_sha256 = record.sha256
    try:
        renewed = add_archive_timestamp(store.get(old_sha256), sealer)
        stored = store.put(renewed)
    except (ArchiveRenewalError, LookupError, RuntimeError, OSError, ValueError) as error:
        reason = str(error) or type(error).__name__
        record_audit(session, action=RENEWAL_FAILED, subject=mandate.public_id, actor="system",
                     merchant_id=mandate.merchant_id, now=now,
                     data={"sha256": old_sha256, "reason": reason})
        return RenewalOutcome(mandate.public_id, "failed", old_sha256, reason=reason)
    until = renew_by(renewed)
    record.sha256, record.size, record.archive_renew_by = stored.sha256, stored.size, until
    record_audit(session, action=RENEWED, subject=mandate.public_id, actor="system",
                 merchant_id=mandate.merchant_id, now=now,
                 data={"previous_sha256": old_sha256, "sha256": stored.sha256,
                       "size": stored.size, "renew_by": until.isoformat() if until else None})
    return RenewalOutcome(mandate.public_id, "renewed", old_sha256, stored.sha256, until)
