"""The console's second factor: TOTP (RFC 6238, pyotp) with replay refused, and recovery codes.

The secret is kept encrypted with the data key (``keys reencrypt`` moves it with the rest). A
code is accepted for the time step before, at or after now (clocks drift), and only for a step
later than the last one accepted, recorded with a compare-and-set: the same code, even raced
from two browsers, signs in once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from portal.console.models import RecoveryCode, StaffUser
from portal.crypto import DecryptionError, FieldCipher
from portal.db import affected_rows

SECRET_CONTEXT = "staff_user.totp_secret"
#: Steps either side of now that are still accepted (30 s each).
DRIFT_STEPS = 1
RECOVERY_CODES = 10
#: 16 characters of the base32 alphabet: 80 random bits per code.
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_RECOVERY_LENGTH = 16


def enrolment_secret(session: Session, staff: StaffUser, cipher: FieldCipher) -> str:
    """The secret to show at enrolment: made once and kept (encrypted) until a code proves the
    authenticator holds it, so reloading the page does not void a QR code already scanned."""
    if staff.totp_enabled_at is not None:
        raise ValueError("TOTP is already set up for this account")
    if staff.totp_secret is None:
        staff.totp_secret = cipher.encrypt(pyotp.random_base32(), SECRET_CONTEXT)
        session.flush()
    return cipher.decrypt(staff.totp_secret, SECRET_CONTEXT)


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def accept_totp(session: Session, staff: StaffUser, cipher: FieldCipher, code: str, *,
                now: datetime) -> bool:
    """True, once, for a right code of a step later than the last accepted one; records it."""
    code = _clean(code)
    if staff.totp_secret is None or not (code.isdigit() and len(code) == 6):
        return False
    try:
        totp = pyotp.TOTP(cipher.decrypt(staff.totp_secret, SECRET_CONTEXT))
    except DecryptionError:  # made under a data key since removed: no code can match
        return False
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            claimed = affected_rows(session.execute(
                update(StaffUser)
                .where(StaffUser.id == staff.id,
                       or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)))
            if claimed == 1:
                session.refresh(staff, ["totp_last_step"])
                return True
            return False  # this step (or a later one) was used already: a replay
    return False


def enable_totp(session: Session, staff: StaffUser, *, now: datetime) -> list[str]:
    """TOTP is on from now; returns the fresh recovery codes (shown once, stored hashed)."""
    staff.totp_enabled_at = now
    return new_recovery_codes(session, staff, now=now)


def _digest(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def new_recovery_codes(session: Session, staff: StaffUser, *, now: datetime) -> list[str]:
    """Ten new codes, replacing any earlier ones; only their hashes are kept."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_user_id == staff.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
        session.add(RecoveryCode(staff_user_id=staff.id, code_sha256=_digest(raw),
                                 created_at=now))
    session.flush()
    return codes


def use_recovery_code(session: Session, staff: StaffUser, code: str, *, now: datetime) -> bool:
    """True, once per code, for one of the staff member's unused recovery codes."""
    if len(_clean(code)) != _RECOVERY_LENGTH:
        return False
    used = affected_rows(session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.staff_user_id == staff.id,
               RecoveryCode.code_sha256 == _digest(code), RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)))
    return used == 1


def recovery_codes_left(session: Session, staff: StaffUser) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.staff_user_id == staff.id, RecoveryCode.used_at.is_(None))).all())
