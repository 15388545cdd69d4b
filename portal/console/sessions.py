"""Console sessions on the server: start at login, resume on every request, end for good.

The browser's cookie carries only a random token; the record (``ConsoleSession``) decides. A
session ends at logout, after ``idle`` without a request, at its absolute ``expires_at``, and
for every copy at once when the staff member is disabled or changes their password. A session
started by a password waits for the second factor (``second_factor_at``) for a few minutes at
most; the second factor ends it and a fresh session, with a new token, takes its place.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from portal.audit.service import record_audit
from portal.console.models import ConsoleSession, StaffUser
from portal.db import affected_rows
from portal.ids import new_public_id

#: ``last_seen_at`` is written at most this often (a write per request would be wasted).
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 255


@dataclass(frozen=True)
class SessionPolicy:
    """How long a console session lasts: without a request, and at most; and how long a login
    may wait for its second factor."""

    idle: timedelta
    absolute: timedelta
    second_factor: timedelta = timedelta(minutes=10)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(db: Session, staff: StaffUser, *, now: datetime, policy: SessionPolicy,
                  ip: str | None, user_agent: str | None, method: str = "password",
                  second_factor_at: datetime | None = None) -> tuple[str, ConsoleSession]:
    """A new session for ``staff``: the token for the cookie, and its record. Without
    ``second_factor_at`` it opens only the second-factor pages, and only for a few minutes."""
    token = secrets.token_urlsafe(32)
    lifetime = policy.absolute if second_factor_at else min(policy.second_factor, policy.absolute)
    record = ConsoleSession(
        public_id=new_public_id("ses"), token_sha256=token_digest(token), staff=staff,
        created_at=now, last_seen_at=now, expires_at=now + lifetime, ip=ip,
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None, method=method,
        second_factor_at=second_factor_at)
    db.add(record)
    db.flush()
    return token, record


def resume_session(db: Session, token: object, *, now: datetime,
                   policy: SessionPolicy) -> ConsoleSession | None:
    """The live session this cookie token names, touched; None when it is unknown, ended,
    idle too long, past its absolute end, or its staff member is disabled. A session found
    timed out is ended on the way."""
    if not isinstance(token, str) or not token:
        return None
    record = db.scalar(select(ConsoleSession).options(joinedload(ConsoleSession.staff))
                       .where(ConsoleSession.token_sha256 == token_digest(token)))
    if record is None or record.ended_at is not None:
        return None
    if now >= record.expires_at:
        end_session(db, record, "expired" if record.second_factor_at else "second_factor_timeout",
                    now=now)
        return None
    if now - record.last_seen_at > policy.idle:
        end_session(db, record, "idle", now=now)
        return None
    if not record.staff.active:
        end_session(db, record, "staff_disabled", now=now)
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
    return record


def end_session(db: Session, record: ConsoleSession, reason: str, *, now: datetime) -> None:
    if record.ended_at is None:
        record.ended_at, record.end_reason = now, reason


def end_sessions_of(db: Session, staff: StaffUser, reason: str, *, now: datetime,
                    keep: ConsoleSession | None = None) -> int:
    """End every open session of ``staff`` (but ``keep``); how many were ended."""
    query = (update(ConsoleSession)
             .where(ConsoleSession.staff_user_id == staff.id, ConsoleSession.ended_at.is_(None))
             .values(ended_at=now, end_reason=reason)
             .execution_options(synchronize_session="fetch"))
    if keep is not None:
        query = query.where(ConsoleSession.id != keep.id)
    return affected_rows(db.execute(query))


def open_sessions(db: Session, staff: StaffUser, *, now: datetime) -> list[ConsoleSession]:
    """The staff member's sessions not ended and not past their absolute end, newest first."""
    return list(db.scalars(select(ConsoleSession)
                           .where(ConsoleSession.staff_user_id == staff.id,
                                  ConsoleSession.ended_at.is_(None),
                                  ConsoleSession.expires_at > now)
                           .order_by(ConsoleSession.created_at.desc(), ConsoleSession.id.desc())))


def log_out(db: Session, record: ConsoleSession, *, now: datetime, ip: str | None) -> None:
    end_session(db, record, "logout", now=now)
    record_audit(db, action="console.logout", subject=record.staff.public_id,
                 actor=f"staff:{record.staff.public_id}",
                 data={"session": record.public_id, "ip": ip}, now=now)
