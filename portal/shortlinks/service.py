"""Making, finding and counting short links. A code is 10 characters drawn by ``secrets`` from
62, about 59.5 bits: with a million live codes, a random guess hits one in ~10^12 tries, far
beyond what the rate limit lets through."""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.mandates.models import Invitation
from portal.shortlinks.models import ShortLink

if TYPE_CHECKING:
    from portal.payments.models import PaymentRequest

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
LENGTH = 10
#: Bits of randomness in a code.
ENTROPY_BITS = LENGTH * math.log2(len(ALPHABET))
CODE = re.compile(rf"[0-9a-zA-Z]{{{LENGTH}}}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def short_link_of(session: Session, invitation: Invitation) -> ShortLink | None:
    return session.scalar(select(ShortLink).where(ShortLink.invitation_id == invitation.id))


def create_short_link(session: Session, invitation: Invitation, *, now: datetime) -> ShortLink:
    """The invitation's short link, made once; the unique constraint backstops a collision."""
    existing = short_link_of(session, invitation) if invitation.id is not None else None
    if existing is not None:
        return existing
    while True:
        code = new_code()
        if session.scalar(select(ShortLink.id).where(ShortLink.code == code)) is None:
            break
    link = ShortLink(code=code, invitation=invitation, created_at=now,
                     open_count=0)
    session.add(link)
    return link


def short_link_of_request(session: Session, request: PaymentRequest) -> ShortLink | None:
    return session.scalar(select(ShortLink).where(ShortLink.payment_request_id == request.id))


def create_request_short_link(session: Session, request: PaymentRequest, *,
                              now: datetime) -> ShortLink:
    """The payment request's short link (for SMS and its QR code), made once."""
    existing = short_link_of_request(session, request) if request.id is not None else None
    if existing is not None:
        return existing
    while True:
        code = new_code()
        if session.scalar(select(ShortLink.id).where(ShortLink.code == code)) is None:
            break
    link = ShortLink(code=code, payment_request=request, created_at=now,
                     open_count=0)
    session.add(link)
    return link


def find_short_link(session: Session, code: str) -> ShortLink | None:
    """The link with this code; anything not shaped like a code is None without a query."""
    if not CODE.fullmatch(code):
        return None
    return session.scalar(select(ShortLink).where(ShortLink.code == code))


def record_open(session: Session, link: ShortLink, now: datetime) -> None:
    """Count one open, atomically (concurrent opens are all counted)."""
    session.execute(update(ShortLink).where(ShortLink.id == link.id).values(
        open_count=ShortLink.open_count + 1, last_opened_at=now)
        .execution_options(synchronize_session=False))
