"""Support staff who may use the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base


class StaffUser(Base):
    """A person on the operator's support team; created and disabled from the CLI."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id (``stf_…``) used in the session and as the audit subject.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Login name, stored lowercased.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(140))
    #: Werkzeug's scrypt hash (``scrypt:…$salt$hash``).
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    #: Set by ``flask staff disable``: the user can no longer log in, open sessions end.
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class ConsoleSession(Base):
    """One console login, kept on the server: the browser holds only a random token, so ending
    the record ends every copy of the cookie. Listing and ending them per user is what a staff
    page of active sessions needs."""

    __tablename__ = "console_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id (``ses_…``) to name a session in the audit trail and on staff pages.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: SHA-256 of the token in the cookie; the token itself is never stored.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime]
    #: Last request (updated at most once a minute); the idle timeout counts from here.
    last_seen_at: Mapped[datetime]
    #: The absolute end, however busy the session is.
    expires_at: Mapped[datetime]
    #: Where the login came from: the client address and browser.
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    #: When and why it ended: ``logout``, ``idle``, ``expired``, ``staff_disabled``,
    #: ``password_changed``, ``revoked``.
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))

    staff: Mapped[StaffUser] = relationship()


class LoginThrottle(Base):
    """Login attempts per account name since its last successful login, and the lock they
    earned. Kept for any name typed, known or not, so a lock tells nothing about which
    accounts exist; the name is stored only as a keyed hash."""

    __tablename__ = "console_login_throttle"

    #: Keyed hash of the normalised email (``FieldCipher.lookup_hash``).
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(index=True)
    #: No attempt is checked before this.
    locked_until: Mapped[datetime | None]
