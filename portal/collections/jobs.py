"""Collection jobs: the pre-notification mail, and the collections run (export what is due,
let the bank report, import its reports, expire unused mandates) that reschedules itself."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.audit.service import record_audit
from portal.collections.cycle import run_collections
from portal.collections.messages import prenotification_message
from portal.collections.models import Debit, DebitStatus
from portal.collections.service import PRENOTIFICATION_JOB, RUN_JOB, schedule_run
from portal.jobs.service import job_handler
from portal.mail.messages import MailSettings
from portal.mail.transport import MailRejected

log = logging.getLogger(__name__)
#: How often the collections run repeats by itself.
RUN_EVERY = timedelta(hours=1)


@job_handler(PRENOTIFICATION_JOB)
def send_prenotification(session: Session, payload: dict[str, Any]) -> None:
    """Mail the debtor before a collection; skipped once the debit was cancelled or moved on."""
    debit = session.scalar(select(Debit).where(Debit.public_id == payload["debit"]))
    if debit is None or debit.status != DebitStatus.SCHEDULED or \
            debit.attempt != payload.get("attempt", 1) or not debit.customer.email:
        return
    adapters = get_adapters()
    now = adapters.clock()
    message = prenotification_message(
        debit, settings=MailSettings.from_config(current_app.config), now=now)
    try:
        adapters.mail.send(message)  # MailDeferred: the job queue's own retries
    except MailRejected as exc:
        record_audit(session, action="debit.prenotification_failed", subject=debit.public_id,
                     actor="system", merchant_id=debit.merchant_id, now=now,
                     data={"error": str(exc)})
        return
    debit.prenotified_at = now
    record_audit(session, action="debit.prenotified", subject=debit.public_id, actor="system",
                 merchant_id=debit.merchant_id, now=now,
                 data={"message_id": message["Message-ID"], "attempt": debit.attempt,
                       "collection_date": debit.collection_date.isoformat()})


@job_handler(RUN_JOB)
def collections_run(session: Session, payload: dict[str, Any]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    adapters = get_adapters(app)
    summary = run_collections(app, adapters.collectors, adapters.clock())
    log.info("collections run: %s", summary)
    schedule_run(session, adapters.clock() + RUN_EVERY)
