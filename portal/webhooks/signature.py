"""Standard Webhooks symmetric signatures: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.

Framework-free. Secrets are ``whsec_`` + base64 of random bytes; during a rotation the header
carries one signature per valid secret, space-separated, and a receiver accepts any match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
#: 32 random bytes: the spec asks for at least 24.
SECRET_BYTES = 32
#: How far a receiver lets ``webhook-timestamp`` drift from its clock (replay protection).
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_…`` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("empty webhook secret")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,…`` signature over the id, the integer Unix timestamp and the exact body bytes."""
    if "." in msg_id:
        raise ValueError("a message id must not contain '.' (it delimits the signed content)")
    content = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, header: str, *,
           now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True if ``header`` holds a ``v1`` signature by ``secret`` and the timestamp is fresh."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    expected = sign(secret, msg_id, sent, body).encode()
    return any(hmac.compare_digest(expected, candidate.encode())
               for candidate in header.split(" ") if candidate.startswith("v1,"))
