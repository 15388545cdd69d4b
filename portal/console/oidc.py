"""Console sign-in through the company's OpenID Connect provider (Authlib's Flask client).

The authorization code flow with PKCE (S256), a nonce and a state. Authlib checks the id_token's
RS256 signature against the provider's JWKS, and its ``iss`` (the discovery document's issuer,
which must be the configured one), ``aud`` (our client id), ``exp``, ``iat`` and ``nonce``. The
address it names must be verified (``email_verified``) and, when domains are configured, of one
of them. An address that has a console account signs in as that account; a new one only when
the configured claim maps to a role (then the account is made, without a password). The
provider is trusted for the second factor: an OpenID sign-in is a full one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.console.models import StaffRole, StaffUser
from portal.console.service import (
    StaffError,
    create_staff,
    find_merchants,
    find_staff_by_email,
    normalize_email,
)

EXTENSION = "console_oidc"
CLIENT_NAME = "console"


class OidcRefused(Exception):
    """The provider signed someone in whom the console does not let in; the message says why."""


@dataclass(frozen=True)
class RoleGrant:
    role: StaffRole
    merchants: tuple[str, ...] = ()


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    allowed_domains: tuple[str, ...] = ()
    role_claim: str = "groups"
    role_map: dict[str, RoleGrant] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OidcSettings | None:
        """None when no issuer is configured (local accounts only)."""
        issuer = config.get("CONSOLE_OIDC_ISSUER")
        if not issuer:
            return None
        role_map = {
            str(value): RoleGrant(StaffRole(grant["role"]), tuple(grant.get("merchants", ())))
            for value, grant in (config.get("CONSOLE_OIDC_ROLE_MAP") or {}).items()}
        return cls(issuer=str(issuer).rstrip("/"), client_id=config["CONSOLE_OIDC_CLIENT_ID"],
                   client_secret=config["CONSOLE_OIDC_CLIENT_SECRET"],
                   allowed_domains=tuple(d.lower().lstrip("@") for d in
                                         config.get("CONSOLE_OIDC_ALLOWED_DOMAINS") or ()),
                   role_claim=config.get("CONSOLE_OIDC_ROLE_CLAIM") or "groups",
                   role_map=role_map)


def oidc_client(app: Flask, settings: OidcSettings) -> Any:
    """The app's Authlib client, registered once per app."""
    registry = app.extensions.get(EXTENSION)
    if registry is None:
        registry = OAuth(app)
        registry.register(
            CLIENT_NAME, client_id=settings.client_id, client_secret=settings.client_secret,
            server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"})
        app.extensions[EXTENSION] = registry
    client = registry.create_client(CLIENT_NAME)
    metadata = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer:
        # OpenID Connect Discovery §4.3: the document must name the issuer it was read from.
        client.server_metadata = {}
        raise OidcRefused("the provider's discovery document names another issuer")
    return client


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _grant(claims: Mapping[str, Any], settings: OidcSettings) -> RoleGrant | None:
    values = claims.get(settings.role_claim)
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        return None
    for value in values:
        grant = settings.role_map.get(str(value))
        if grant is not None:
            return grant
    return None


def staff_for_claims(session: Session, claims: Mapping[str, Any], settings: OidcSettings, *,
                     now: datetime, ip: str | None) -> StaffUser:
    """The console account the validated id_token's claims sign in, or OidcRefused."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise OidcRefused("the provider gave no email address")
    if claims.get("email_verified") is not True:
        raise OidcRefused("the provider has not verified this email address")
    email = normalize_email(email)
    if settings.allowed_domains and email.rpartition("@")[2] not in settings.allowed_domains:
        raise OidcRefused("this email domain may not sign in to the console")
    staff = find_staff_by_email(session, email)
    if staff is None:
        grant = _grant(claims, settings)
        if grant is None:
            raise OidcRefused("there is no console account for this address; ask to be invited")
        try:
            staff = create_staff(session, email=email, name=str(claims.get("name") or email),
                                 password=None, now=now, role=grant.role,
                                 merchants=find_merchants(session, list(grant.merchants)),
                                 actor="oidc")
        except StaffError as exc:
            raise OidcRefused(str(exc)) from exc
    if not staff.active:
        raise OidcRefused("this console account is disabled")
    staff.last_login_at = now
    record_audit(session, action="console.login", subject=staff.public_id,
                 actor=f"staff:{staff.public_id}", now=now,
                 data={"outcome": "success", "step": "oidc", "ip": ip,
                       "issuer": settings.issuer, "sub": str(claims.get("sub"))})
    return staff
