"""Staff password hashes: Argon2id (argon2-cffi) with OWASP's recommended parameters; Werkzeug
scrypt hashes made before it still verify and are replaced at that login."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

#: OWASP's Password Storage Cheat Sheet, first choice: Argon2id, 19 MiB, 2 passes, 1 lane.
#: Memory-hard, unlike the scrypt it replaces at a quarter of that hash's time on this machine
#: (RFC 9106's 64 MiB × 4 lanes profile took seconds per login on a loaded 2-core server,
#: which makes the login form a way to exhaust it). Production refuses anything weaker.
TIME_COST = 2
MEMORY_KIB = 19 * 1024
PARALLELISM = 1
#: What an account without a password holds (it signs in through OpenID Connect only).
NO_PASSWORD = "!"


class Passwords:
    """Hashing and checking under one set of Argon2id parameters (the app's, see
    :func:`passwords_of`)."""

    def __init__(self, time_cost: int = TIME_COST, memory_kib: int = MEMORY_KIB,
                 parallelism: int = PARALLELISM) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                     parallelism=parallelism)
        #: Checked when the email is unknown, so a miss costs as long as a wrong password.
        self.dummy_hash = self.hasher.hash("not-a-staff-password")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def check(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (None: check a dummy hash, for equal timing)."""
        if stored is None:
            stored = self.dummy_hash
        if stored.startswith("$argon2"):
            try:
                return self.hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False
        if stored.startswith(("scrypt:", "pbkdf2:")):
            return check_password_hash(stored, password)
        return False  # NO_PASSWORD: an account that signs in through OpenID Connect only

    def needs_rehash(self, stored: str) -> bool:
        """True for a legacy scrypt hash or an Argon2 hash with other parameters than these."""
        if not stored.startswith("$argon2"):
            return stored != NO_PASSWORD
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


_DEFAULT: Passwords | None = None


def default_passwords() -> Passwords:
    """The production parameters (made at first use: the dummy hash costs one hash)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Passwords()
    return _DEFAULT


def passwords_from_config(config: Mapping[str, Any]) -> Passwords:
    """The app's parameters: ``CONSOLE_ARGON2_*`` (the defaults above unless a test lowers them)."""
    chosen = (int(config["CONSOLE_ARGON2_TIME_COST"]), int(config["CONSOLE_ARGON2_MEMORY_KIB"]),
              int(config["CONSOLE_ARGON2_PARALLELISM"]))
    if chosen == (TIME_COST, MEMORY_KIB, PARALLELISM):
        return default_passwords()
    return Passwords(*chosen)


def weak_hash_problems(config: Mapping[str, Any]) -> list[str]:
    """Production refuses Argon2 parameters below OWASP's (those are for a test suite)."""
    if (int(config["CONSOLE_ARGON2_TIME_COST"]) >= TIME_COST
            and int(config["CONSOLE_ARGON2_MEMORY_KIB"]) >= MEMORY_KIB
            and int(config["CONSOLE_ARGON2_PARALLELISM"]) >= PARALLELISM):
        return []
    problem = (f"PORTAL_CONSOLE_ARGON2_TIME_COST, _MEMORY_KIB and _PARALLELISM must be at least "
               f"{TIME_COST}, {MEMORY_KIB} and {PARALLELISM} in production (OWASP's Argon2id)")
    return [problem]


def passwords_of(session: Session) -> Passwords:
    """The password parameters bound to a session by ``portal.db.init_app``."""
    found = session.info.get("passwords")
    return found if found is not None else default_passwords()
