"""Staff password hashes: Argon2id (argon2-cffi) with OWASP's recommended parameters; Werkzeug
scrypt hashes made before it still verify and are replaced at that login."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

#: OWASP's Password Storage Cheat Sheet, first choice: Argon2id, 19 MiB, 2 passes, 1 lane.
#: Memory-hard, unlike the scrypt it replaces at a quarter of that hash's time on this machine
#: (RFC 9106's 64 MiB × 4 lanes profile took seconds per login on a loaded 2-core server,
#: which makes the login form a way to exhaust it).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: What an account without a password holds (it signs in through OpenID Connect only).
NO_PASSWORD = "!"
#: Checked when the email is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not-a-staff-password")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: check a dummy hash, for equal timing)."""
    if stored is None:
        stored = _DUMMY_HASH
    if stored.startswith("$argon2"):
        try:
            return HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    if stored.startswith(("scrypt:", "pbkdf2:")):
        return check_password_hash(stored, password)
    return False  # NO_PASSWORD: an account that signs in through OpenID Connect only


def needs_rehash(stored: str) -> bool:
    """True for a legacy scrypt hash or an Argon2 hash with weaker parameters than today's."""
    if not stored.startswith("$argon2"):
        return stored != NO_PASSWORD
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True
