"""``flask --app portal merchant payments``: a merchant's payment settings (the one-cent
verification refunded after activation, reminders around the due date, the direct-debit offer
at the checkout)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.db import session_scope
from portal.merchants.models import Merchant
from portal.payments.reminders import ReminderScheduleError, reminder_offsets, validate_offsets


def _offsets(value: str) -> list[int] | None:
    """``-3,0,7`` → [-3, 0, 7]; ``none`` → []; ``default`` → None (PAYMENT_REMINDER_DAYS)."""
    if value == "default":
        return None
    if value == "none":
        return []
    try:
        return validate_offsets([int(part) for part in value.split(",") if part.strip()])
    except ValueError as exc:  # ReminderScheduleError included
        raise click.BadParameter(str(exc) if isinstance(exc, ReminderScheduleError) else
                                 "whole days around the due date, e.g. -3,0,7") from None


@click.command("payments")
@click.option("--merchant", "public_id", required=True, help="mer_…")
@click.option("--refund-verification/--keep-verification", default=None,
              help="Refund the one-cent verification once the mandate is active.")
@click.option("--reminder-days", "days", help="Days around the due date, e.g. -3,0,7; 'none'; "
              "or 'default' (PAYMENT_REMINDER_DAYS).")
@click.option("--offer-mandate/--no-offer-mandate", default=None,
              help="Checkout pages offer 'pay this and future invoices by direct debit'.")
@with_appcontext
def payment_settings(public_id: str, refund_verification: bool | None, days: str | None,
                     offer_mandate: bool | None) -> None:
    """Show or change a merchant's payment settings."""
    with session_scope() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.public_id == public_id))
        if merchant is None:
            click.echo(f"error: no merchant {public_id}", err=True)
            sys.exit(2)
        if refund_verification is not None:
            merchant.refund_verification = refund_verification
        if days is not None:
            merchant.payment_reminder_days = _offsets(days)
        if offer_mandate is not None:
            merchant.offer_mandate_at_checkout = offer_mandate
        schedule = reminder_offsets(merchant, tuple(current_app.config["PAYMENT_REMINDER_DAYS"]))
        click.echo(f"refund verification: {'yes' if merchant.refund_verification else 'no'}")
        click.echo(f"reminder days:       {','.join(map(str, schedule)) or 'none'}"
                   f"{' (portal default)' if merchant.payment_reminder_days is None else ''}")
        click.echo(f"offer mandate:       {'yes' if merchant.offer_mandate_at_checkout else 'no'}")
