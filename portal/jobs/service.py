"""Enqueue jobs in the caller's transaction; claim and run them from any number of workers.

A claim is a conditional UPDATE on an expired-or-absent lease, preceded on PostgreSQL by
``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never run the same job at once, and a worker
killed mid-job leaves it to be retried when its lease runs out.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.db import affected_rows, current_session, state, table_of
from portal.jobs.models import Job, JobStatus
from portal.logs import request_id
from portal.metrics import JOB_FAILURES

log = logging.getLogger(__name__)

Handler = Callable[[Session, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}
#: How long a claim holds a job unless ``JOBS_LEASE_SECONDS`` says otherwise.
LEASE = timedelta(minutes=5)


class RetryLater(Exception):
    """Raised by a handler to be run again at ``at`` (its own schedule), or given up on."""

    def __init__(self, reason: str, at: datetime | None = None) -> None:
        super().__init__(reason)
        self.at = at  # None: no more attempts, the job is dead


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind; it gets a session and the payload."""
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function
    return register


@dataclass(frozen=True)
class NewJob:
    """A job to add (:func:`enqueue_jobs`); a known ``dedupe_key`` gives the existing job."""

    kind: str
    payload: dict[str, Any]
    dedupe_key: str | None = None
    run_at: datetime | None = None
    max_attempts: int = 8


def enqueue(session: Session, kind: str, payload: dict[str, Any], *,
            dedupe_key: str | None = None, run_at: datetime | None = None,
            max_attempts: int = 8) -> Job:
    """Add a job that commits with the caller's change; a known ``dedupe_key`` returns its job."""
    return enqueue_jobs(session, [NewJob(kind, payload, dedupe_key, run_at, max_attempts)])[0]


def enqueue_jobs(session: Session, jobs: Sequence[NewJob]) -> list[Job]:
    """:func:`enqueue` for several jobs at once (an activation's PDF and mail): their dedupe
    keys are looked up in one statement, without flushing the caller's changes (a job added
    but not yet flushed is found in the session)."""
    keys = [job.dedupe_key for job in jobs if job.dedupe_key is not None]
    known: dict[str | None, Job] = {}
    if keys:
        known = {job.dedupe_key: job for job in session.new
                 if isinstance(job, Job) and job.dedupe_key in keys}
        with session.no_autoflush:
            known.update((job.dedupe_key, job) for job in session.scalars(
                select(Job).where(Job.dedupe_key.in_(keys))))
    now = clock_now()
    traced = request_id.get()
    added = []
    for new in jobs:
        job = known.get(new.dedupe_key) if new.dedupe_key is not None else None
        if job is None:
            payload = new.payload
            if traced != "-":  # so the job's log lines can be traced to the request
                payload = {**payload, "_request_id": traced}
            job = Job(kind=new.kind, payload=payload, dedupe_key=new.dedupe_key,
                      status=JobStatus.PENDING, run_at=new.run_at or now, attempts=0,
                      max_attempts=new.max_attempts, created_at=now)
            session.add(job)
            if new.dedupe_key is not None:
                known[new.dedupe_key] = job
        added.append(job)
    return added


def add_jobs(session: Session, jobs: Sequence[NewJob]) -> None:
    """:func:`enqueue_jobs` for a caller that needs no :class:`Job` back (an activation's PDF
    and mail): one multi-row INSERT that skips a known ``dedupe_key`` (``ON CONFLICT DO
    NOTHING`` on its unique index), instead of a lookup and an INSERT per job through the unit
    of work. A job with the same key added but not yet flushed is kept, as there; the caller's
    own changes are not flushed by it."""
    pending = {job.dedupe_key for job in session.new if isinstance(job, Job)}
    now = clock_now()
    traced = request_id.get()
    rows = [{"kind": new.kind, "dedupe_key": new.dedupe_key, "status": JobStatus.PENDING,
             "payload": new.payload if traced == "-" else {**new.payload,
                                                           "_request_id": traced},
             "run_at": new.run_at or now, "attempts": 0, "max_attempts": new.max_attempts,
             "created_at": now}
            for new in jobs if new.dedupe_key is None or new.dedupe_key not in pending]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    with session.no_autoflush:
        session.execute(insert(table_of(Job)).values(rows)
                        .on_conflict_do_nothing(index_elements=["dedupe_key"]))


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter: ~30 s, 1 min, 2 min … capped at 6 h."""
    ceiling = min(30 * 2 ** (attempts - 1), 6 * 3600)
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def lease_duration() -> timedelta:
    """The claim's lease: ``JOBS_LEASE_SECONDS`` from the app's config, else :data:`LEASE`."""
    if has_app_context() and current_app.config.get("JOBS_LEASE_SECONDS"):
        return timedelta(seconds=float(current_app.config["JOBS_LEASE_SECONDS"]))
    return LEASE


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(session: Session, worker: str, now: datetime,
          kinds: tuple[str, ...] | None = None) -> Job | None:
    """Take the next due job for this worker, or None; commits the claim."""
    due = (select(Job.id)
           .where(Job.status == JobStatus.PENDING, Job.run_at <= now,
                  or_(Job.locked_until.is_(None), Job.locked_until < now))
           .order_by(Job.run_at, Job.id).limit(5)
           .with_for_update(skip_locked=True))
    if kinds:
        due = due.where(Job.kind.in_(kinds))
    for job_id in session.scalars(due).all():
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.PENDING,
                   or_(Job.locked_until.is_(None), Job.locked_until < now))
            .values(locked_until=now + lease_duration(), locked_by=worker,
                    attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False))
        if affected_rows(taken) == 1:
            session.commit()
            return session.get(Job, job_id, populate_existing=True)
    session.rollback()
    return None


def run_job(app: Flask, job_id: int) -> bool:
    """Run one claimed job in a fresh session; record success, or schedule a retry. True if done.

    Its log lines carry the id of the request that enqueued it."""
    context = request_id.set(f"job-{job_id}")
    try:
        return _run_job(app, job_id)
    finally:
        request_id.reset(context)


def _run_job(app: Flask, job_id: int) -> bool:
    factory = state(app).factory
    with factory() as session, current_session(session):
        job = session.get_one(Job, job_id)
        # Read once: a handler that rolls its session back expires the row, and after the
        # session closes it can no longer be refreshed.
        kind, attempts, payload = job.kind, job.attempts, dict(job.payload)
        handler = HANDLERS.get(kind)
        if payload.get("_request_id"):
            request_id.set(payload["_request_id"])
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            handler(session, {k: v for k, v in payload.items() if k != "_request_id"})
            # Done in the same transaction as the work: both commit, or neither does.
            session.execute(update(Job).where(Job.id == job_id).values(
                status=JobStatus.DONE, finished_at=clock_now(), locked_until=None,
                last_error=None).execution_options(synchronize_session=False))
            session.commit()
        except RetryLater as retry:  # the handler committed what it wanted to keep
            session.rollback()
            _record_failure(factory, job_id, str(retry)[:2000], retry_at=retry.at, scheduled=True)
            return False
        except Exception as exc:  # any failure is recorded and retried, never lost
            session.rollback()
            log.warning("job %s (%s) failed on attempt %s: %s", job_id, kind, attempts,
                        type(exc).__name__, exc_info=True)
            JOB_FAILURES.labels(kind).inc()
            _record_failure(factory, job_id, f"{type(exc).__name__}: {exc}"[:2000])
            return False
    log.debug("job %s (%s) done", job_id, kind)
    return True


def _record_failure(factory: Callable[[], Session], job_id: int, error: str, *,
                    retry_at: datetime | None = None, scheduled: bool = False) -> None:
    with factory() as session:
        job = session.get_one(Job, job_id)
        now = clock_now()
        job.last_error = error
        job.locked_until = None
        if (scheduled and retry_at is None) or (not scheduled and job.attempts >= job.max_attempts):
            job.status, job.finished_at = JobStatus.DEAD, now
        else:
            job.run_at = retry_at or now + backoff(job.attempts)
        session.commit()


def run_due_jobs(app: Flask, *, limit: int = 100, worker: str | None = None,
                 kinds: tuple[str, ...] | None = None) -> int:
    """Run due jobs until none is left or ``limit`` ran; returns how many ran."""
    worker = worker or worker_name()
    ran = 0
    with app.app_context():
        while ran < limit:
            with state(app).factory() as session:
                job = claim(session, worker, clock_now(), kinds)
            if job is None:
                break
            run_job(app, job.id)
            ran += 1
    return ran
