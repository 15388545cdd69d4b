"""The batch jobs: a worker checks an uploaded file (the dry run) and imports a good one, with
the portal's settings and adapters handed to the service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.batches.kinds import BatchContext
from portal.batches.models import CsvBatch
from portal.batches.progress import import_progress
from portal.batches.service import (
    CHECK_JOB,
    IMPORT_JOB,
    Limits,
    batch_by_id,
    check_batch,
    give_up,
    import_batch,
)
from portal.db import state
from portal.jobs.models import Job
from portal.jobs.service import job_handler, lease_duration
from portal.merchants.models import Merchant


def batch_context(session: Session, batch: CsvBatch) -> BatchContext:
    from portal.invoices.context import billing_of
    from portal.payments.service import PaymentSettings

    adapters = get_adapters()
    config = current_app.config
    merchant = session.get_one(Merchant, batch.merchant_id)
    return BatchContext(
        merchant=merchant, now=adapters.clock(), actor=batch.uploaded_by,
        bank_available=adapters.bank is not None, sms_available=adapters.sms is not None,
        invitation_ttl_days=int(config["INVITATION_TTL_DAYS"]),
        request_ttl_days=int(config["PAYMENT_REQUEST_TTL_DAYS"]),
        expiry_months=int(config["COLLECTION_MANDATE_EXPIRY_MONTHS"]),
        payment_settings=PaymentSettings.from_config(config),
        billing=billing_of(current_app))


def _hold_lease(session: Session, kind: str, batch: CsvBatch) -> None:
    """Keep the job's claim while it works (it commits a step at a time)."""
    session.execute(update(Job).where(Job.dedupe_key == f"{kind}:{batch.public_id}")
                    .values(locked_until=get_adapters().clock() + lease_duration())
                    .execution_options(synchronize_session=False))


@contextmanager
def _given_up_on(kind: str, public_id: str) -> Iterator[None]:
    """On a failure of the job's last attempt, the batch says it failed (INVALID, nothing
    imported) instead of showing its progress page forever; the failure is raised on."""
    try:
        yield
    except Exception:
        with state().factory() as session:
            job = session.scalar(select(Job).where(Job.dedupe_key == f"{kind}:{public_id}"))
            if job is not None and job.attempts >= job.max_attempts:
                give_up(session, public_id, now=get_adapters().clock())
                session.commit()
        raise


@job_handler(CHECK_JOB)
def check_job(session: Session, payload: dict[str, Any]) -> None:
    batch = batch_by_id(session, payload["batch"])
    if batch is None:
        return
    with _given_up_on(CHECK_JOB, batch.public_id):
        check_batch(session, batch, batch_context(session, batch),
                    Limits.from_config(current_app.config),
                    progress=lambda: _hold_lease(session, CHECK_JOB, batch))


def _lease_keeper(public_id: str) -> Callable[[Connection], None]:
    """Keep the import job's claim, through the progress's own connection (PostgreSQL)."""
    def keep(side: Connection) -> None:
        side.execute(update(Job).where(Job.dedupe_key == f"{IMPORT_JOB}:{public_id}")
                     .values(locked_until=get_adapters().clock() + lease_duration()))
    return keep


@job_handler(IMPORT_JOB)
def import_job(session: Session, payload: dict[str, Any]) -> None:
    batch = batch_by_id(session, payload["batch"])
    if batch is None:
        return
    progress = import_progress(session, batch, _lease_keeper(batch.public_id))
    try:
        with _given_up_on(IMPORT_JOB, batch.public_id):
            import_batch(session, batch, batch_context(session, batch),
                         Limits.from_config(current_app.config), progress=progress)
    finally:
        progress.close()

