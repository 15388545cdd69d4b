"""``flask --app portal api-client create | list | revoke`` and ``api purge-idempotency-keys``."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from portal.api.clients import (
    ClientInputError,
    create_client,
    find_client,
    list_clients,
    revoke_client,
)
from portal.api.idempotency import purge_expired_keys
from portal.api.models import SCOPES
from portal.db import session_scope
from portal.merchants.models import Merchant

client_cli = AppGroup("api-client", help="OAuth2 clients of the merchant API.")
api_cli = AppGroup("api", help="Merchant API maintenance.")


def _merchant(session, public_id: str) -> Merchant:
    merchant = session.scalar(select(Merchant).where(Merchant.public_id == public_id))
    if merchant is None:
        raise click.ClickException(f"no merchant {public_id}")
    return merchant


@client_cli.command("create")
@click.option("--merchant", "merchant_id", required=True, help="The merchant's id (mer_…).")
@click.option("--name", required=True, help="What the client is for, e.g. ERP.")
@click.option("--scopes", default="mandates:read mandates:write events:read", show_default=True,
              help=f"Space-separated, from: {' '.join(SCOPES)}.")
def create(merchant_id: str, name: str, scopes: str) -> None:
    """Create a client; its secret is printed once and never stored in clear."""
    try:
        with session_scope() as session:
            new = create_client(session, _merchant(session, merchant_id), name, scopes)
            client_id, granted = new.client.client_id, new.client.scopes
    except ClientInputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"client_id:     {client_id}")
    click.echo(f"client_secret: {new.secret}")
    click.echo(f"scopes:        {granted}")
    click.echo("Store the secret now: it cannot be shown again.", err=True)


@client_cli.command("list")
@click.option("--merchant", "merchant_id", help="Only this merchant's clients (mer_…).")
def list_command(merchant_id: str | None) -> None:
    """List clients (never their secrets)."""
    with session_scope() as session:
        merchant = _merchant(session, merchant_id) if merchant_id else None
        for client in list_clients(session, merchant):
            state = f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"
            click.echo(f"{client.client_id}  {client.merchant.public_id}  {state:<18} "
                       f"{client.name}  [{client.scopes}]")


@client_cli.command("revoke")
@click.argument("client_id")
def revoke_command(client_id: str) -> None:
    """Revoke a client and every token it holds."""
    with session_scope() as session:
        client = find_client(session, client_id)
        if client is None:
            click.echo(f"no client {client_id}", err=True)
            sys.exit(1)
        revoke_client(session, client)
    click.echo(f"revoked {client_id}")


@api_cli.command("purge-idempotency-keys")
def purge_command() -> None:
    """Delete Idempotency-Keys older than API_IDEMPOTENCY_TTL_HOURS (run daily, e.g. cron)."""
    with session_scope() as session:
        purged = purge_expired_keys(session)
    click.echo(f"purged {purged} idempotency keys")


def init_app(app: Flask) -> None:
    app.cli.add_command(client_cli)
    app.cli.add_command(api_cli)
