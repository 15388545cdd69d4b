"""Signed invitation links: the token carries only the invitation's opaque id and expiry."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from itsdangerous import BadData, URLSafeSerializer

SALT = "portal.invitation-link.v1"


class LinkInvalid(Exception):
    """The token was tampered with, truncated or made with an unknown key."""


def _serializer(secret_key: str, fallbacks: list[str] | tuple[str, ...]) -> URLSafeSerializer:
    return _keyed_serializer(secret_key, tuple(fallbacks))


@functools.lru_cache(maxsize=16)
def _keyed_serializer(secret_key: str, fallbacks: tuple[str, ...]) -> URLSafeSerializer:
    """Made once per set of keys (it derives its signers up front), not on every request."""
    # itsdangerous signs with the last key and accepts all of them: current key goes last.
    return URLSafeSerializer([*fallbacks, secret_key], salt=SALT)


def make_invitation_token(
    public_id: str, expires_at: datetime, secret_key: str, fallbacks: list[str] | tuple[str, ...] = ()
) -> str:
    return _serializer(secret_key, fallbacks).dumps([public_id, int(expires_at.timestamp())])


def read_invitation_token(
    token: str, secret_key: str, fallbacks: list[str] | tuple[str, ...] = ()
) -> tuple[str, datetime]:
    """Return (invitation public id, expiry) or raise :class:`LinkInvalid`; expiry is checked
    by the caller against the clock and the invitation row."""
    try:
        public_id, expires = _serializer(secret_key, fallbacks).loads(token)
        if not isinstance(public_id, str) or not isinstance(expires, int):
            raise LinkInvalid("malformed link")
        return public_id, datetime.fromtimestamp(expires, UTC)
    except (BadData, ValueError, TypeError, OverflowError) as exc:
        raise LinkInvalid("link signature does not verify") from exc


def invitation_url(public_id: str, expires_at: datetime, base_url: str | None = None) -> str:
    """The customer's signing link, made with the app's current secret key."""
    from flask import current_app

    config = current_app.config
    token = make_invitation_token(public_id, expires_at, config["SECRET_KEY"],
                                  config["SECRET_KEY_FALLBACKS"])
    return f"{(base_url or config['PUBLIC_BASE_URL']).rstrip('/')}/sign/{token}"
