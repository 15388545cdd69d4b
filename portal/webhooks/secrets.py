"""Webhook signing secrets at rest: encrypted with the data key, opened only to sign.

Each column has its own associated data, so a value cannot be moved from one to the other, and
``flask --app portal keys reencrypt`` moves both to a new data key (see ``portal.crypto``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, object_session

from portal.crypto import FieldCipher
from portal.db import cipher_of
from portal.merchants.models import Merchant

CURRENT = "merchant.webhook_secret"
PREVIOUS = "merchant.webhook_previous_secret"


def set_secrets(session: Session, merchant: Merchant, current: str | None, *,
                previous: str | None = None, previous_until: datetime | None = None) -> None:
    """Store the merchant's secrets encrypted; no ``previous`` ends any rotation overlap."""
    cipher = cipher_of(session)
    merchant.webhook_secret = cipher.encrypt(current, CURRENT) if current else None
    merchant.webhook_previous_secret = cipher.encrypt(previous, PREVIOUS) if previous else None
    merchant.webhook_previous_secret_expires_at = previous_until if previous else None


def current_secret(session: Session, merchant: Merchant) -> str | None:
    """The secret that signs from now on, in clear (for a rotation, never for display)."""
    if not merchant.webhook_secret:
        return None
    return cipher_of(session).decrypt(merchant.webhook_secret, CURRENT)


def signing_secrets(merchant: Merchant, now: datetime,
                    cipher: FieldCipher | None = None) -> list[str]:
    """The current secret, then the previous one while its rotation overlap lasts, in clear.

    Without ``cipher``, the one of the session the merchant was loaded in."""
    if cipher is None:
        session = object_session(merchant)
        if session is None:
            raise ValueError("the merchant is not attached to a session; pass the cipher")
        cipher = cipher_of(session)
    found = [cipher.decrypt(merchant.webhook_secret, CURRENT)] if merchant.webhook_secret else []
    expires = merchant.webhook_previous_secret_expires_at
    if merchant.webhook_previous_secret and expires is not None and now < expires:
        found.append(cipher.decrypt(merchant.webhook_previous_secret, PREVIOUS))
    return found
