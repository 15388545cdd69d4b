"""``flask --app portal invoices configure``: how a merchant numbers its invoices."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.db import session_scope
from portal.invoices.numbering import InvoiceSettingsError, configure_invoicing, format_number
from portal.merchants.models import Merchant

invoices_cli = AppGroup("invoices", help="Invoices.")


@invoices_cli.command("configure")
@click.option("--merchant", "merchant_id", required=True, help="mer_…")
@click.option("--prefix", "number_prefix", help="Before each number, e.g. INV- (the default).")
@click.option("--yearly/--single-series", "yearly", default=None,
              help="A series per year, the year in the number (default), or one series.")
@click.option("--due-days", type=int, help="Days from issue to due date (14).")
def configure(merchant_id: str, **options: object) -> None:
    """Set how a merchant's invoices are numbered and when they fall due."""
    now = get_adapters().clock()
    with session_scope() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.public_id == merchant_id))
        if merchant is None:
            raise click.ClickException(f"no merchant {merchant_id}")
        try:
            row = configure_invoicing(session, merchant, actor="cli", now=now,
                                      **options)  # type: ignore[arg-type]
        except InvoiceSettingsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        series = str(now.year) if row.yearly else ""
        click.echo(f"next numbers like {format_number(row, series, 1)}, due after "
                   f"{row.due_days} days")
