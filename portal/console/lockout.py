"""Per-account lockout of console logins, with a delay that doubles after each further miss.

The per-address rate limit (portal.limits) stops one client; this stops many clients guessing
one account. An attempt is counted, and committed, *before* its password is checked: then
concurrent guesses cannot all be checked before any is counted, and no database lock is held
during the slow password hash. The count is a compare-and-set on the row, so it is exact on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.console.models import LoginThrottle
from portal.db import affected_rows, cipher_of

#: Attempts are forgotten after this long without one.
FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class LockoutPolicy:
    """``after`` attempts lock the account for ``first_lock``; each attempt after a lock locks
    it again for twice as long as the last time, up to ``longest_lock``."""

    after: int = 5
    first_lock: timedelta = timedelta(minutes=1)
    longest_lock: timedelta = timedelta(hours=1)

    def lock_for(self, attempts: int) -> timedelta | None:
        if attempts < self.after:
            return None
        doubling = min(attempts - self.after, 30)
        return min(self.first_lock * (2 ** doubling), self.longest_lock)


@dataclass(frozen=True)
class Attempt:
    """A claimed attempt: its number since the last success, and the lock it starts (if it
    fails). ``refused_until`` is set instead when the account is locked now."""

    account: str
    number: int = 0
    locks_until: datetime | None = None
    refused_until: datetime | None = None


def account_key(session: Session, email: str) -> str:
    """A keyed hash of the typed name: what was typed is never stored (it may be a password)."""
    return cipher_of(session).lookup_hash("console-login:" + email)


def claim_attempt(session: Session, email: str, *, now: datetime,
                  policy: LockoutPolicy) -> Attempt:
    """Count one attempt for this account name, or refuse it while the account is locked.

    Runs in a transaction of its own and commits it (the session must have nothing pending)."""
    account = account_key(session, email)
    for _ in range(20):
        row = session.scalar(select(LoginThrottle).where(LoginThrottle.account == account)
                             .execution_options(populate_existing=True))
        if row is not None and row.locked_until is not None and row.locked_until > now:
            session.rollback()
            return Attempt(account, refused_until=row.locked_until)
        if row is None or now - row.last_attempt_at > FORGET_AFTER:
            number = 1
        else:
            number = row.attempts + 1
        lock = policy.lock_for(number)
        locks_until = now + lock if lock is not None else None
        if row is None:
            session.add(LoginThrottle(account=account, attempts=number, last_attempt_at=now,
                                      locked_until=locks_until))
            try:
                session.commit()
            except IntegrityError:  # a concurrent attempt inserted it first
                session.rollback()
                continue
        else:
            changed = affected_rows(session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.account == account, LoginThrottle.attempts == row.attempts)
                .values(attempts=number, last_attempt_at=now, locked_until=locks_until)
                .execution_options(synchronize_session=False)))
            session.commit()
            if changed != 1:  # a concurrent attempt counted first: read again
                continue
        return Attempt(account, number=number, locks_until=locks_until)
    raise RuntimeError("login attempt could not be counted under contention")


def forget_attempts(session: Session, attempt: Attempt, *, now: datetime) -> None:
    """A successful login: clear its account's count, and drop other accounts' stale counts."""
    session.execute(delete(LoginThrottle).where(or_(
        LoginThrottle.account == attempt.account,
        (LoginThrottle.last_attempt_at < now - FORGET_AFTER)
        & (or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)))))


def release_lock(session: Session, attempt: Attempt) -> None:
    """A right password: lift the lock this very attempt set (it was counted before the check),
    but keep the count, which only the second factor clears. A wrong code right after earlier
    misses then locks again at once."""
    if attempt.locks_until is not None:
        session.execute(update(LoginThrottle)
                        .where(LoginThrottle.account == attempt.account,
                               LoginThrottle.attempts == attempt.number)
                        .values(locked_until=None)
                        .execution_options(synchronize_session=False))
