"""Signed invitation links: the token carries only the invitation's opaque id and expiry."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadData, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

SALT = "portal.invitation-link.v1"


class LinkInvalid(Exception):
    """The token was tampered with, truncated or made with an unknown key."""


def _serializer(secret_key: str, fallbacks: list[str] | tuple[str, ...],
                salt: str = SALT) -> URLSafeSerializer:
    return _keyed_serializer(secret_key, tuple(fallbacks), salt)


@functools.lru_cache(maxsize=16)
def _keyed_serializer(secret_key: str, fallbacks: tuple[str, ...], salt: str
                      ) -> URLSafeSerializer:
    """Made once per set of keys (it derives its signers up front), not on every request."""
    # itsdangerous signs with the last key and accepts all of them: current key goes last.
    return URLSafeSerializer([*fallbacks, secret_key], salt=salt)


def _canonical(token: str) -> bool:
    """True when each base64 part is spelled as we write it: base64 leaves the last character's
    low bits free, so one signature has several spellings; only ours is accepted."""
    payload, dot, signature = token.rpartition(".")
    if not dot:
        return False
    try:
        return all(part and base64_encode(base64_decode(part)).decode() == part
                   for part in (payload.removeprefix("."), signature))
    except BadData:
        return False


def make_invitation_token(
    public_id: str, expires_at: datetime, secret_key: str, fallbacks: list[str] | tuple[str, ...] = (),
    *, salt: str = SALT,
) -> str:
    """``salt`` keeps one kind of link from being read as another (``portal.console.invites``)."""
    return _serializer(secret_key, fallbacks, salt).dumps(
        [public_id, int(expires_at.timestamp())])


def read_invitation_token(
    token: str, secret_key: str, fallbacks: list[str] | tuple[str, ...] = (), *, salt: str = SALT,
) -> tuple[str, datetime]:
    """Return (invitation public id, expiry) or raise :class:`LinkInvalid`; expiry is checked
    by the caller against the clock and the invitation row."""
    public_id, expires = _verified_token(token, secret_key, tuple(fallbacks), salt)
    return public_id, datetime.fromtimestamp(expires, UTC)


@functools.lru_cache(maxsize=4096)
def _verified_token(token: str, secret_key: str, fallbacks: tuple[str, ...], salt: str
                    ) -> tuple[str, int]:
    """A token's contents once its signature verified with these keys and salt. Only verified
    tokens are remembered (a refusal raises, and lru_cache keeps no exceptions), so made-up
    tokens cannot fill the cache; a repeat visit skips the HMAC. The keys and the salt are part
    of the key: a token signed with a key since retired verifies again, and fails; a token of
    one kind of link remembered is not thereby accepted as another kind."""
    if not _canonical(token):
        raise LinkInvalid("link is not spelled as issued")
    try:
        public_id, expires = _serializer(secret_key, fallbacks, salt).loads(token)
        if not isinstance(public_id, str) or not isinstance(expires, int):
            raise LinkInvalid("malformed link")
        datetime.fromtimestamp(expires, UTC)  # a time Python can represent
        return public_id, expires
    except (BadData, ValueError, TypeError, OverflowError) as exc:
        raise LinkInvalid("link signature does not verify") from exc


@dataclass(frozen=True)
class Links:
    """What the customer's links are made from: the portal's public address and the link keys.
    Read from the configuration where a view, job or command starts (``from_config``)."""

    base_url: str
    secret_key: str
    fallbacks: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Links:
        return cls(str(config["PUBLIC_BASE_URL"]).rstrip("/"), config["SECRET_KEY"],
                   tuple(config["SECRET_KEY_FALLBACKS"]))

    def invitation_url(self, public_id: str, expires_at: datetime) -> str:
        """The customer's signing link, made with the current secret key."""
        token = make_invitation_token(public_id, expires_at, self.secret_key, self.fallbacks)
        return f"{self.base_url}/sign/{token}"

    def short_url(self, code: str) -> str:
        """``/s/<code>``: what goes into SMS and QR codes."""
        return f"{self.base_url}/s/{code}"

    def unsubscribe_url(self, code: str) -> str:
        """Where a reminder's List-Unsubscribe points: beside the invitation's short link."""
        return f"{self.base_url}/s/{code}/unsubscribe"
