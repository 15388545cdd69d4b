"""Creating, listing and revoking API clients; the secret is returned once and stored hashed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.api.models import SCOPES, ApiClient, ApiToken, hash_client_secret
from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.ids import new_public_id
from portal.merchants.models import Merchant
from portal.names import InvalidName, clean_name


class ClientInputError(ValueError):
    """The name or scopes cannot be used; the message says why."""


@dataclass(frozen=True)
class NewClient:
    client: ApiClient
    #: Shown to the operator once; only its hash is kept.
    secret: str


def parse_scopes(text: str) -> list[str]:
    """Scopes from a space- or comma-separated string, in canonical order, all known."""
    requested = set(text.replace(",", " ").split())
    unknown = requested - set(SCOPES)
    if unknown:
        raise ClientInputError(f"unknown scope(s): {', '.join(sorted(unknown))}; "
                               f"choose from {' '.join(SCOPES)}")
    if not requested:
        raise ClientInputError("give at least one scope")
    return [scope for scope in SCOPES if scope in requested]


def create_client(session: Session, merchant: Merchant, name: str, scopes: str, *,
                  actor: str = "cli", now: datetime | None = None) -> NewClient:
    """A new client for the merchant with a fresh random secret."""
    try:  # shown in the console and the command line: the rule for names
        name = clean_name(name, max_length=100)
    except InvalidName as exc:
        raise ClientInputError(f"the name {exc} (1 to 100 characters)") from None
    now = now or clock_now()
    secret = "sec_" + secrets.token_urlsafe(32)
    client = ApiClient(client_id=new_public_id("cli"), merchant_id=merchant.id, name=name,
                       secret_hash=hash_client_secret(secret),
                       scopes=" ".join(parse_scopes(scopes)), created_at=now)
    session.add(client)
    session.flush()
    record_audit(session, action="api_client.create", subject=client.client_id, actor=actor,
                 merchant_id=merchant.id, now=now, data={"name": name, "scopes": client.scopes})
    return NewClient(client, secret)


def list_clients(session: Session, merchant: Merchant | None = None) -> list[ApiClient]:
    query = select(ApiClient).order_by(ApiClient.id)
    if merchant is not None:
        query = query.where(ApiClient.merchant_id == merchant.id)
    return list(session.scalars(query))


def find_client(session: Session, client_id: str) -> ApiClient | None:
    return session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def revoke_client(session: Session, client: ApiClient, *, actor: str = "cli",
                  now: datetime | None = None) -> None:
    """Revoke the client and every token it holds; idempotent."""
    now = now or clock_now()
    if client.revoked_at is None:
        client.revoked_at = now
        record_audit(session, action="api_client.revoke", subject=client.client_id, actor=actor,
                     merchant_id=client.merchant_id, now=now)
    session.execute(update(ApiToken).where(ApiToken.client_pk == client.id,
                                           ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
