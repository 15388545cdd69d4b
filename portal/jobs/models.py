"""Background jobs, kept in the database so they survive restarts and can be shared by workers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, enum_column


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    #: Gave up after ``max_attempts``; kept for inspection and manual retry.
    DEAD = "dead"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Handler name, e.g. ``mandate.pdf``.
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Enqueueing the same key twice gives the existing job (idempotent enqueue).
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus))
    run_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    #: A worker holds the job until this time; a crashed worker's lease simply runs out.
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
