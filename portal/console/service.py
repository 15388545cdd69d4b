"""Console rules: staff accounts and logins (password, then the second factor), finding mandates
within the staff member's merchants, and gathering a mandate's record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.audit.service import record_audit
from portal.console.lockout import LockoutPolicy, claim_attempt, forget_attempts, release_lock
from portal.console.models import ConsoleSession, StaffMembership, StaffRole, StaffUser
from portal.console.passwords import NO_PASSWORD, passwords_of
from portal.console.roles import Scope
from portal.console.sessions import end_session, end_sessions_of
from portal.console.totp import accept_totp, enable_totp, use_recovery_code
from portal.crypto import FieldCipher
from portal.db import cipher_of
from portal.documents.models import MandatePdf
from portal.documents.service import mandate_pdf, read_pdf
from portal.events.models import Event
from portal.ids import looks_like, new_public_id
from portal.mandates.models import Invitation, Mandate
from portal.merchants.models import Merchant
from portal.names import InvalidName, clean_name
from portal.sepa import IbanError, mask_iban, normalize_iban, validate_iban
from portal.verification.models import VerificationPayment
from signing.storage import PdfStore

MIN_PASSWORD_LENGTH = 12
#: What an IBAN looks like, valid or not: never kept in clear in the trail of searches.
IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_staff_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))


def find_staff(session: Session, public_id: str) -> StaffUser | None:
    if not looks_like(public_id, "stf"):
        return None
    return session.scalar(select(StaffUser).where(StaffUser.public_id == public_id))


def find_merchants(session: Session, public_ids: list[str]) -> list[Merchant]:
    """The merchants named, or StaffError naming the first unknown one."""
    found = {merchant.public_id: merchant for merchant in session.scalars(
        select(Merchant).where(Merchant.public_id.in_(public_ids)))} if public_ids else {}
    for public_id in public_ids:
        if public_id not in found:
            raise StaffError(f"no merchant {public_id}")
    return [found[public_id] for public_id in dict.fromkeys(public_ids)]


def check_role_merchants(role: StaffRole, merchants: list[Merchant]) -> None:
    """Support and merchant admins work for at least one merchant; platform admins for all."""
    if role is StaffRole.PLATFORM_ADMIN and merchants:
        raise StaffError("a platform admin works for every merchant: name none")
    if role is not StaffRole.PLATFORM_ADMIN and not merchants:
        raise StaffError(f"a {role.value.replace('_', ' ')} needs at least one merchant")


def create_staff(session: Session, *, email: str, name: str, password: str | None,
                 now: datetime, role: StaffRole = StaffRole.PLATFORM_ADMIN,
                 merchants: list[Merchant] | None = None, actor: str = "cli") -> StaffUser:
    """A staff account; ``password`` None for one that signs in through OpenID Connect only."""
    merchants = merchants or []
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise StaffError("enter a valid email address")
    try:
        name = clean_name(name, max_length=140)
    except InvalidName as exc:
        raise StaffError(f"the name {exc}") from exc
    if password is not None:
        check_new_password(password)
    check_role_merchants(role, merchants)
    if find_staff_by_email(session, email) is not None:
        raise StaffError(f"a staff user with email {email} already exists")
    staff = StaffUser(public_id=new_public_id("stf"), email=email, name=name, role=role,
                      password_hash=(passwords_of(session).hash(password) if password
                                     else NO_PASSWORD),
                      created_at=now)
    staff.memberships = [StaffMembership(merchant_id=merchant.id, created_at=now)
                         for merchant in merchants]
    session.add(staff)
    session.flush()
    record_audit(session, action="console.staff_create", subject=staff.public_id, actor=actor,
                 data={"email": email, "role": role.value,
                       "merchants": [merchant.public_id for merchant in merchants]}, now=now)
    return staff


def set_role(session: Session, email: str, role: StaffRole, merchants: list[Merchant], *,
             now: datetime, actor: str) -> StaffUser:
    """A new role and set of merchants; open sessions end (they were granted the old ones)."""
    staff = find_staff_by_email(session, email)
    if staff is None:
        raise StaffError(f"no staff user with email {normalize_email(email)}")
    check_role_merchants(role, merchants)
    staff.role = role
    staff.memberships = [StaffMembership(merchant_id=merchant.id, created_at=now)
                         for merchant in merchants]
    ended = end_sessions_of(session, staff, "role_changed", now=now)
    record_audit(session, action="console.staff_role", subject=staff.public_id, actor=actor,
                 now=now, data={"role": role.value, "sessions_ended": ended,
                                "merchants": [merchant.public_id for merchant in merchants]})
    return staff


def disable_staff(session: Session, email: str, *, now: datetime) -> StaffUser:
    """No more logins for this staff member, and every open session of theirs ends."""
    staff = find_staff_by_email(session, email)
    if staff is None:
        raise StaffError(f"no staff user with email {normalize_email(email)}")
    if staff.disabled_at is None:
        staff.disabled_at = now
        ended = end_sessions_of(session, staff, "staff_disabled", now=now)
        record_audit(session, action="console.staff_disable", subject=staff.public_id,
                     actor="cli", data={"email": staff.email, "sessions_ended": ended}, now=now)
    return staff


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def change_password(session: Session, staff: StaffUser, new_password: str, *, now: datetime,
                    actor: str) -> int:
    """Set a new password and end every session of the staff member, wherever its cookie
    was copied to; returns how many were ended."""
    check_new_password(new_password)
    staff.password_hash = passwords_of(session).hash(new_password)
    ended = end_sessions_of(session, staff, "password_changed", now=now)
    record_audit(session, action="console.password_change", subject=staff.public_id,
                 actor=actor, data={"sessions_ended": ended}, now=now)
    return ended


def set_password(session: Session, email: str, new_password: str, *, now: datetime) -> StaffUser:
    """An administrator's reset from the command line."""
    staff = find_staff_by_email(session, email)
    if staff is None:
        raise StaffError(f"no staff user with email {normalize_email(email)}")
    change_password(session, staff, new_password, now=now, actor="cli")
    return staff


def change_own_password(session: Session, staff: StaffUser, current_password: str,
                        new_password: str, *, now: datetime, lockout: LockoutPolicy,
                        ip: str | None) -> None:
    """A staff member's own change, which needs the current password: wrong guesses count
    against the account like failed logins (a stolen session cannot guess it at leisure)."""
    check_new_password(new_password)
    attempt = claim_attempt(session, staff.email, now=now, policy=lockout)
    if attempt.refused_until is not None:
        raise StaffError("too many wrong passwords for this account; try again later")
    if not passwords_of(session).check(staff.password_hash, current_password):
        record_audit(session, action="console.password_change", subject=staff.public_id,
                     actor=f"staff:{staff.public_id}", now=now,
                     data={"outcome": "failure", "reason": "wrong_password", "ip": ip})
        raise StaffError("the current password is incorrect")
    forget_attempts(session, attempt, now=now)
    change_password(session, staff, new_password, now=now, actor=f"staff:{staff.public_id}")


@dataclass(frozen=True)
class LoginResult:
    """Whose password this was (None if nobody's), or until when the account name is locked.
    A right password is only the first step: the second factor follows."""

    staff: StaffUser | None
    locked_until: datetime | None = None


def authenticate(session: Session, email: str, password: str, *, now: datetime,
                 ip: str | None, lockout: LockoutPolicy) -> LoginResult:
    """The staff user this password belongs to, or why not; every attempt is audited.

    The attempt is counted against the account name first (:mod:`portal.console.lockout`, which
    commits it); while the name is locked no password is checked. An unknown email still
    checks a password hash, so timing does not tell which emails exist. A right password does
    not clear the count: only the second factor does (:func:`verify_second_factor`), so codes
    cannot be guessed by logging in again between guesses."""
    email = normalize_email(email)
    attempt = claim_attempt(session, email, now=now, policy=lockout)
    staff = find_staff_by_email(session, email)
    # What was typed is never kept: the trail is append-only, and people type passwords into
    # the email box. An unknown account is named by nothing more than the attempt itself.
    subject = staff.public_id if staff else "stf_unknown"
    actor = f"staff:{staff.public_id}" if staff else "anonymous"
    if attempt.refused_until is not None:
        record_audit(session, action="console.login", subject=subject, actor=actor, now=now,
                     data={"outcome": "failure", "reason": "locked", "ip": ip,
                           "locked_until": attempt.refused_until.isoformat()})
        return LoginResult(None, locked_until=attempt.refused_until)
    passwords = passwords_of(session)
    matches = passwords.check(staff.password_hash if staff else None, password)
    if staff is None:
        reason = "unknown_email"
    elif not matches:
        reason = "wrong_password"
    elif not staff.active:
        reason = "disabled"
    else:
        release_lock(session, attempt)
        if passwords.needs_rehash(staff.password_hash):
            staff.password_hash = passwords.hash(password)
        record_audit(session, action="console.login", subject=staff.public_id, actor=actor,
                     data={"outcome": "success", "step": "password", "ip": ip}, now=now)
        return LoginResult(staff)
    record_audit(session, action="console.login", subject=subject, actor=actor, now=now,
                 data={"outcome": "failure", "reason": reason, "ip": ip,
                       "attempt": attempt.number})
    if attempt.locks_until is not None:
        record_audit(session, action="console.login_locked", subject=subject, actor="system",
                     now=now, data={"attempts": attempt.number, "ip": ip,
                                    "locked_until": attempt.locks_until.isoformat()})
    return LoginResult(None)


@dataclass(frozen=True)
class SecondFactorResult:
    """``codes``: the recovery codes to show once (at enrolment); ``locked_until``: the account
    is locked and this pending login ended."""

    ok: bool
    locked_until: datetime | None = None
    codes: list[str] = field(default_factory=list)


def verify_second_factor(session: Session, pending: ConsoleSession, code: str, *,
                         cipher: FieldCipher, now: datetime, lockout: LockoutPolicy,
                         ip: str | None, recovery: bool = False) -> SecondFactorResult:
    """Check a TOTP code (or a recovery code) for a login whose password was right; at the
    first code after the password, this enrols TOTP. Wrong codes count against the account
    like wrong passwords (the same lockout); a lock ends the pending login. On success the
    pending session ends: the caller starts a fresh one with the second factor given."""
    staff = pending.staff
    actor = f"staff:{staff.public_id}"
    enrolling = staff.totp_enabled_at is None
    attempt = claim_attempt(session, staff.email, now=now, policy=lockout)
    method = "recovery_code" if recovery else "totp"
    audit = {"method": method, "session": pending.public_id, "ip": ip, "enrolment": enrolling}
    if attempt.refused_until is not None:
        end_session(session, pending, "locked", now=now)
        record_audit(session, action="console.second_factor", subject=staff.public_id,
                     actor=actor, now=now, data={**audit, "outcome": "failure",
                                                 "reason": "locked"})
        return SecondFactorResult(False, locked_until=attempt.refused_until)
    if recovery and not enrolling:
        ok = use_recovery_code(session, staff, code, now=now)
    else:
        ok = accept_totp(session, staff, cipher, code, now=now)
    if not ok:
        record_audit(session, action="console.second_factor", subject=staff.public_id,
                     actor=actor, now=now, data={**audit, "outcome": "failure",
                                                 "reason": "wrong_code",
                                                 "attempt": attempt.number})
        if attempt.locks_until is not None:
            end_session(session, pending, "locked", now=now)
            record_audit(session, action="console.login_locked", subject=staff.public_id,
                         actor="system", now=now, data={"attempts": attempt.number, "ip": ip,
                                                        "locked_until":
                                                            attempt.locks_until.isoformat()})
            return SecondFactorResult(False, locked_until=attempt.locks_until)
        return SecondFactorResult(False)
    forget_attempts(session, attempt, now=now)
    codes = enable_totp(session, staff, now=now) if enrolling else []
    staff.last_login_at = now
    end_session(session, pending, "second_factor", now=now)
    record_audit(session, action="console.second_factor", subject=staff.public_id, actor=actor,
                 now=now, data={**audit, "outcome": "success"})
    return SecondFactorResult(True, codes=codes)


def find_mandate(session: Session, public_id: str, scope: Scope) -> Mandate | None:
    """The mandate, if it exists and is one of ``scope``'s merchants' (else None: a 404)."""
    if not looks_like(public_id, "md"):
        return None
    return session.scalar(select(Mandate).where(Mandate.public_id == public_id,
                                                scope.condition(Mandate.merchant_id)))


@dataclass
class SealCheck:
    """The stored PDF's seal as :func:`signing.verify` sees it (or why it could not be read)."""

    ok: bool
    reasons: list[str] = field(default_factory=list)
    signed_at: datetime | None = None
    signer_subject: str | None = None


@dataclass
class MandateRecord:
    """Everything support needs to answer a question about one mandate."""

    mandate: Mandate
    invitations: list[Invitation]
    payments: list[VerificationPayment]
    audit_events: list[AuditEvent]
    events: list[Event]
    pdf: MandatePdf | None
    seal: SealCheck | None


def check_seal(store: PdfStore, record: MandatePdf, certificate: Any) -> SealCheck:
    from signing import verify  # pyHanko: loaded with the first check, not at start-up

    try:
        pdf = read_pdf(store, record)
    except Exception as exc:  # noqa: BLE001 - a missing or corrupt file is a finding, not a 500
        return SealCheck(ok=False, reasons=[f"the stored PDF could not be read: {exc}"])
    report = verify(pdf, certificate)
    return SealCheck(ok=report.ok, reasons=list(report.reasons), signed_at=report.signed_at,
                     signer_subject=report.signer_subject)


def mandate_record(session: Session, mandate: Mandate, store: PdfStore,
                   certificate: Any) -> MandateRecord:
    invitations = list(session.scalars(
        select(Invitation).where(Invitation.mandate_id == mandate.id).order_by(Invitation.id)))
    subjects = [mandate.public_id, *(invitation.public_id for invitation in invitations)]
    pdf = mandate_pdf(session, mandate)
    return MandateRecord(
        mandate=mandate,
        invitations=invitations,
        payments=list(session.scalars(
            select(VerificationPayment).where(VerificationPayment.mandate_id == mandate.id)
            .order_by(VerificationPayment.created_at, VerificationPayment.id))),
        audit_events=list(session.scalars(
            select(AuditEvent).where(AuditEvent.subject.in_(subjects)).order_by(AuditEvent.seq))),
        events=list(session.scalars(
            select(Event).where(Event.subject == mandate.public_id)
            .order_by(Event.created_at, Event.id))),
        pdf=pdf,
        seal=check_seal(store, pdf, certificate) if pdf else None,
    )


def record_search(session: Session, staff: StaffUser, query: str, found: list[Mandate], *,
                  now: datetime, ip: str | None, filters: dict[str, Any] | None = None) -> None:
    """Searches are audited like views: who looked for what (and with which filters), and which
    mandates it showed. An IBAN searched for is kept masked with its keyed hash, never in
    clear."""
    shown: dict[str, Any] = {"query": query.strip()}
    try:
        account = validate_iban(normalize_iban(query))
    except IbanError:
        if IBAN_SHAPE.fullmatch(normalize_iban(query)):  # an IBAN with a typo is still one
            shown = {"query": mask_iban(normalize_iban(query))}
    else:
        shown = {"query": mask_iban(account.iban),
                 "iban_hash": cipher_of(session).lookup_hash(account.iban)}
    if filters:
        shown["filters"] = filters
    record_audit(session, action="console.search", subject=staff.public_id,
                 actor=f"staff:{staff.public_id}", now=now,
                 data={"staff": staff.public_id, "ip": ip, **shown,
                       "found": [mandate.public_id for mandate in found]})


def record_access(session: Session, staff: StaffUser, mandate: Mandate, action: str,
                  *, now: datetime, ip: str | None) -> None:
    """Support access is itself audited: who looked at or downloaded which mandate, and when."""
    record_audit(session, action=action, subject=mandate.public_id,
                 actor=f"staff:{staff.public_id}", merchant_id=mandate.merchant_id,
                 data={"staff": staff.public_id, "ip": ip}, now=now)

