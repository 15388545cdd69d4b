"""CSRF tokens for the signing form, bound to the invitation instead of a session cookie.

Whoever holds the signed link may sign; a cross-site forger would need that link too. Binding
the token to it keeps the form working where browsers block cookies (third-party iframes) and
makes the page the same for every visitor of a link, so it can be cached."""

from __future__ import annotations

import base64
import hashlib
import hmac

PURPOSE = b"portal.sign-form.v1|"


def form_token(invitation_id: str, secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), PURPOSE + invitation_id.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def valid_form_token(invitation_id: str, offered: str | None, secret_key: str,
                     fallbacks: list[str] | tuple[str, ...] = ()) -> bool:
    """True if ``offered`` was made for this invitation with the current or a previous key."""
    if not offered:
        return False
    return any(hmac.compare_digest(form_token(invitation_id, key), offered)
               for key in (secret_key, *fallbacks))
