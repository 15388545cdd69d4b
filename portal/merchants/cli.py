"""``flask --app portal merchant signing-methods``: how a merchant's debtors may sign Core
mandates by default (B2B mandates are always signed at the bank)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.db import session_scope
from portal.mandates.models import SigningMethod
from portal.mandates.signing_methods import DEFAULT_METHODS
from portal.merchants.models import Merchant

NAMES = [m.value for m in SigningMethod]


@click.command("signing-methods")
@click.option("--merchant", "public_id", required=True, help="mer_…")
@click.option("--methods", help="Comma-separated, in the order offered: "
              f"{', '.join(NAMES)}; or 'default'.")
@with_appcontext
def signing_methods_command(public_id: str, methods: str | None) -> None:
    """Show or change how a merchant's debtors may sign Core mandates."""
    with session_scope() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.public_id == public_id))
        if merchant is None:
            click.echo(f"error: no merchant {public_id}", err=True)
            sys.exit(2)
        if methods == "default":
            merchant.signing_methods = None
        elif methods is not None:
            chosen = list(dict.fromkeys(m.strip() for m in methods.split(",") if m.strip()))
            unknown = [m for m in chosen if m not in NAMES]
            if not chosen or unknown:
                raise click.BadParameter(f"use {', '.join(NAMES)}", param_hint="--methods")
            merchant.signing_methods = chosen
        shown = merchant.signing_methods or [m.value for m in DEFAULT_METHODS]
        click.echo(f"signing methods: {', '.join(shown)}"
                   f"{' (portal default)' if merchant.signing_methods is None else ''}")
