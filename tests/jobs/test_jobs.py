"""The job queue: idempotent enqueue, exclusive claims, retries, leases that expire."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.jobs import service
from portal.jobs.models import Job, JobStatus
from portal.jobs.service import (
    NewJob,
    RetryLater,
    add_jobs,
    claim,
    enqueue,
    job_handler,
    run_due_jobs,
)

calls: list[dict] = []


@job_handler("test.ok")
def _ok(session: Session, payload: dict) -> None:
    calls.append(payload)


@job_handler("test.boom")
def _boom(session: Session, payload: dict) -> None:
    raise ValueError("boom")


@job_handler("test.later")
def _later(session: Session, payload: dict) -> None:
    raise RetryLater("not yet", at=utcnow() + timedelta(days=2) if payload.get("again") else None)


def test_enqueue_with_the_same_key_gives_one_job(session: Session) -> None:
    first = enqueue(session, "test.ok", {"n": 1}, dedupe_key="k")
    session.flush()
    assert enqueue(session, "test.ok", {"n": 2}, dedupe_key="k") is first


def test_added_jobs_skip_a_known_key_stored_or_pending_and_keep_the_rest(
        session: Session) -> None:
    stored = enqueue(session, "test.ok", {"n": 1}, dedupe_key="stored")
    session.flush()
    pending = enqueue(session, "test.ok", {"n": 2}, dedupe_key="pending")
    add_jobs(session, [NewJob("test.ok", {"n": 3}, "stored"), NewJob("test.ok", {"n": 4},
                                                                      "pending"),
                       NewJob("test.ok", {"n": 5}, "new"), NewJob("test.ok", {"n": 6})])
    session.commit()
    jobs = {job.payload["n"]: job for job in session.scalars(select(Job))}
    assert sorted(jobs) == [1, 2, 5, 6] and jobs[1] is stored and jobs[2] is pending
    assert jobs[5].dedupe_key == "new" and jobs[5].status is JobStatus.PENDING
    assert jobs[5].attempts == 0 and jobs[5].max_attempts == 8 and jobs[6].dedupe_key is None


def test_due_jobs_run_once_and_are_marked_done(app: Flask, session: Session) -> None:
    calls.clear()
    enqueue(session, "test.ok", {"n": 1})
    enqueue(session, "test.ok", {"n": 2}, run_at=utcnow() + timedelta(hours=1))
    session.commit()
    assert run_due_jobs(app) == 1 and calls == [{"n": 1}]
    assert run_due_jobs(app) == 0


def test_a_failing_job_is_retried_with_backoff_then_dies(app: Flask, session: Session) -> None:
    job = enqueue(session, "test.boom", {}, max_attempts=2)
    session.commit()
    run_due_jobs(app)
    session.refresh(job)
    assert job.status == JobStatus.PENDING and job.attempts == 1 and job.run_at > utcnow()
    assert job.last_error == "ValueError: boom"
    app.config["CLOCK"] = lambda: utcnow() + timedelta(days=1)
    run_due_jobs(app)
    session.refresh(job)
    assert job.status == JobStatus.DEAD and job.attempts == 2


def test_handler_can_set_its_own_schedule_or_give_up(app: Flask, session: Session) -> None:
    again = enqueue(session, "test.later", {"again": True})
    stop = enqueue(session, "test.later", {})
    session.commit()
    run_due_jobs(app)
    session.refresh(again)
    session.refresh(stop)
    assert again.status == JobStatus.PENDING and again.run_at > utcnow() + timedelta(days=1)
    assert stop.status == JobStatus.DEAD


def test_a_claimed_job_is_not_claimed_again_until_its_lease_expires(
        app: Flask, session: Session) -> None:
    enqueue(session, "test.ok", {})
    session.commit()
    now = utcnow()
    with app.app_context():
        first = claim(session, "worker-a", now)
        assert first is not None
        assert claim(session, "worker-b", now) is None  # leased to worker-a
        retaken = claim(session, "worker-b", now + service.LEASE + timedelta(seconds=1))
    assert retaken is not None and retaken.id == first.id and retaken.attempts == 2
    assert session.get(Job, first.id).locked_by == "worker-b"


def test_backoff_grows_and_is_capped() -> None:
    assert service.backoff(1) <= timedelta(seconds=30)
    assert service.backoff(4) >= timedelta(seconds=120)
    assert service.backoff(30) <= timedelta(hours=6)


@job_handler("test.writes")
def _writes(session: Session, payload: dict) -> None:
    enqueue(session, "test.ok", {"written_by": payload["n"]})


def test_a_job_is_done_in_the_same_transaction_as_its_work(app: Flask, session: Session) -> None:
    from sqlalchemy import select

    job = enqueue(session, "test.writes", {"n": 7})
    session.commit()
    run_due_jobs(app, kinds=("test.writes",))
    session.expire_all()
    assert session.get(Job, job.id).status == JobStatus.DONE
    written = session.scalars(select(Job).where(Job.kind == "test.ok")).all()
    assert [j.payload["written_by"] for j in written] == [7]


@job_handler("test.rolls_back")
def _rolls_back(session: Session, payload: dict) -> None:
    """Like a handler that gives up its own changes (a refused provider call) and returns."""
    session.rollback()
    if payload.get("fail"):
        raise ValueError("after a rollback")


def test_a_handler_that_rolls_its_session_back_is_finished_normally(
        app: Flask, session: Session) -> None:
    done = enqueue(session, "test.rolls_back", {})
    failing = enqueue(session, "test.rolls_back", {"fail": True})
    session.commit()
    assert run_due_jobs(app, kinds=("test.rolls_back",)) == 2
    session.expire_all()
    assert session.get(Job, done.id).status == JobStatus.DONE
    failed = session.get(Job, failing.id)
    assert failed.status == JobStatus.PENDING and failed.last_error == "ValueError: after a rollback"
