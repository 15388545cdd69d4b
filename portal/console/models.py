"""Staff who may use the console: their role, the merchants they work for, their second factor,
their sessions and invitations."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import encrypted
from portal.db import Base, enum_column


class StaffRole(enum.Enum):
    """What a staff member may do (``portal.console.roles`` lists the permissions of each)."""

    #: Reads everything of its merchants, resends invitations, replays webhooks.
    SUPPORT = "support"
    #: The settings and the work of its own merchant(s).
    MERCHANT_ADMIN = "merchant_admin"
    #: Every merchant, and the platform's staff.
    PLATFORM_ADMIN = "platform_admin"


class StaffUser(Base):
    """A person who uses the console: invited by email (or the first platform admin, made from
    the CLI), signing in with a password and TOTP, or through the company's OpenID provider."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id (``stf_…``) used in the session and as the audit subject.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Login name, stored lowercased.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(140))
    #: Argon2id (``$argon2id$…``); older Werkzeug scrypt hashes are upgraded at the next
    #: login; ``!`` for an account that signs in only through OpenID Connect.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole))
    #: The TOTP secret (base32), encrypted with the data key; set at enrolment's start.
    totp_secret: Mapped[str | None] = mapped_column(
        Text, info=encrypted("staff_user.totp_secret"))
    #: When the first code was accepted: from then on every password login needs a code.
    totp_enabled_at: Mapped[datetime | None]
    #: The 30-second time step of the last code accepted: that code, and older ones, are
    #: refused (a code seen over a shoulder or replayed from a log does not work again).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    #: Set by ``flask staff disable``: the user can no longer log in, open sessions end.
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[StaffMembership]] = relationship(
        back_populates="staff", cascade="all, delete-orphan")

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def merchant_ids(self) -> frozenset[int]:
        return frozenset(membership.merchant_id for membership in self.memberships)


class StaffMembership(Base):
    """A staff member works for this merchant (a platform admin works for all, without rows)."""

    __tablename__ = "staff_membership"

    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), primary_key=True,
                                             index=True)
    created_at: Mapped[datetime]

    staff: Mapped[StaffUser] = relationship(back_populates="memberships")


class RecoveryCode(Base):
    """One of the ten codes shown once at TOTP enrolment; each signs in once instead of a TOTP
    code. Only its SHA-256 is kept: a code is 80 random bits, beyond guessing, so a slow hash
    would add nothing but wait."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class StaffInvite(Base):
    """An invitation to the console, mailed as a signed link; accepted once, before it expires."""

    __tablename__ = "staff_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id (``sti_…``), the payload of the signed link.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole))
    #: Public ids of the merchants the new staff member will work for.
    merchants: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Who invited (None: the command line).
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: Set once, by the acceptance that created the account (a compare-and-set).
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


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
    #: How the login was proven: ``password`` (then a second factor follows) or ``oidc``.
    method: Mapped[str | None] = mapped_column(String(16))
    #: When the second factor was given (a TOTP or recovery code, or the OpenID provider's
    #: sign-in); until then the session opens only the second-factor pages.
    second_factor_at: Mapped[datetime | None]
    #: When and why it ended: ``logout``, ``idle``, ``expired``, ``staff_disabled``,
    #: ``password_changed``, ``revoked``, ``second_factor`` (a
    #: second factor was given: a fresh session replaces this one), ``second_factor_timeout``,
    #: ``locked``.
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
