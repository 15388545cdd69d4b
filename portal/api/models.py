"""Merchant API credentials (OAuth2 clients and their access tokens) and idempotency records."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import now as clock_now
from portal.crypto import encrypted
from portal.db import Base
from portal.merchants.models import Merchant

#: Every scope a client may hold; ``payments:*`` are reserved for the payments API.
SCOPES = ("mandates:read", "mandates:write", "payments:read", "payments:write", "events:read",
          "billing:read", "billing:write")
#: How a client may authenticate at the token endpoint.
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPE = "client_credentials"



def hash_client_secret(secret: str) -> str:
    """SHA-256 of a client secret. The secrets are 256 random bits, so a slow password hash
    would add latency to every token request without adding security."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()

class ApiClient(Base, ClientMixin):
    """A merchant's machine credential (one per integration: ERP, shop, …); revocable."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public identifier sent with the secret (``cli_…``).
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The secret as a salted scrypt hash (werkzeug format); the secret itself is shown once.
    secret_hash: Mapped[str] = mapped_column(String(255))
    #: Space-separated scopes this client may request.
    scopes: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    merchant: Mapped[Merchant] = relationship()

    # Authlib's ClientMixin: a confidential client using only the client credentials grant.
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """All of the client's scopes when none are asked for; None (invalid_scope) when more."""
        allowed = self.scopes.split()
        if not scope:
            return " ".join(allowed)
        requested = scope.split()
        if not set(requested) <= set(allowed):
            return None
        return " ".join(s for s in allowed if s in requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.revoked_at is None and hmac.compare_digest(self.secret_hash, hash_client_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


class ApiToken(Base, TokenMixin):
    """An access token, stored only as its SHA-256; revoked with its client or on request."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    #: Space-separated scopes granted (a subset of the client's).
    scopes: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    client: Mapped[ApiClient] = relationship()

    # Authlib's TokenMixin.
    def check_client(self, client: ApiClient) -> bool:
        return hmac.compare_digest(self.client.client_id, client.client_id)

    def get_scope(self) -> str:
        return self.scopes

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.created_at).total_seconds())

    def is_expired(self) -> bool:
        return clock_now() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.client.revoked_at is not None


class IdempotencyKey(Base):
    """A POST's ``Idempotency-Key`` and the response it got; the unique constraint is the lock."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (UniqueConstraint("merchant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    key: Mapped[str] = mapped_column(String(255))
    #: What the key was first used for: ``POST /api/v1/invitations`` and the canonical body's hash.
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    #: True while the first request is in flight; then its response, replayed to repeats. The
    #: body is encrypted at rest: it may hold signing links (``portal.api.idempotency``).
    locked: Mapped[bool] = mapped_column(Boolean)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(
        Text, info=encrypted("api_idempotency_key.response_body"))
    created_at: Mapped[datetime] = mapped_column(index=True)
