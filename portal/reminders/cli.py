"""``flask --app portal merchant delivery``: where customers' replies go and when reminders are
sent, per merchant."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.db import session_scope
from portal.mandates.schedule import ScheduleError, reminder_days, validate_schedule
from portal.merchants.models import Merchant


def _days(value: str) -> list[int] | None:
    """``3,7`` → [3, 7]; ``none`` → [] (no reminders); ``default`` → None (REMINDER_DAYS)."""
    if value == "default":
        return None
    if value == "none":
        return []
    try:
        return validate_schedule([int(part) for part in value.split(",") if part.strip()])
    except ValueError as exc:  # ScheduleError included
        raise click.BadParameter(str(exc) if isinstance(exc, ScheduleError) else
                                 "whole days separated by commas, e.g. 3,7") from None


@click.command("delivery")
@click.option("--merchant", "public_id", required=True, help="mer_…")
@click.option("--reply-to", help="Address customers' replies go to ('' to clear).")
@click.option("--reminder-days", "days", help="Days after sending, e.g. 3,7; 'none'; or "
              "'default' (REMINDER_DAYS).")
@with_appcontext
def delivery_settings(public_id: str, reply_to: str | None, days: str | None) -> None:
    """Show or change a merchant's reply-to address and reminder schedule."""
    with session_scope() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.public_id == public_id))
        if merchant is None:
            click.echo(f"error: no merchant {public_id}", err=True)
            sys.exit(2)
        if reply_to is not None:
            try:
                merchant.reply_to_email = (validate_email(reply_to, check_deliverability=False)
                                           .normalized if reply_to else None)
            except EmailNotValidError as exc:
                raise click.BadParameter(str(exc), param_hint="--reply-to") from None
        if days is not None:
            merchant.reminder_days = _days(days)
        click.echo(f"reply-to:      {merchant.reply_to_email or merchant.contact_email or '-'}")
        schedule = reminder_days(merchant, current_app.config["REMINDER_DAYS"])
        click.echo(f"reminder days: {','.join(map(str, schedule)) or 'none'}"
                   f"{' (portal default)' if merchant.reminder_days is None else ''}")
