"""``flask --app portal bookkeeping report``: a merchant's month, as a summary or a CSV."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.bookkeeping.export import EXPORTS, euros
from portal.bookkeeping.service import PeriodError, build_report, month_period
from portal.bookkeeping.summary import report_json
from portal.db import session_scope
from portal.merchants.models import Merchant

bookkeeping_cli = AppGroup("bookkeeping", help="Bookkeeping reports.")


@bookkeeping_cli.command("report")
@click.option("--merchant", "merchant_id", required=True, help="mer_…")
@click.option("--month", required=True, help="e.g. 2026-03")
@click.option("--csv", "export", type=click.Choice(sorted(EXPORTS)),
              help="Print this CSV instead of the summary.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead.")
def report_command(merchant_id: str, month: str, export: str | None,
                   output: str | None) -> None:
    """A month's invoices, money in and out, fees, payouts and open amounts."""
    with session_scope() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.public_id == merchant_id))
        if merchant is None:
            raise click.ClickException(f"no merchant {merchant_id}")
        try:
            report = build_report(session, merchant.id, *month_period(month))
        except PeriodError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if export is not None:
            text = EXPORTS[export](report)
        else:
            summary = report_json(report, {})
            lines = [f"{report.start:%Y-%m-%d} – {summary['end_date']}"]
            for key in ("invoices_issued", "invoices_paid", "collections", "returns",
                        "debit_refunds", "rejected", "payments", "refunds", "chargebacks"):
                part = summary[key]
                lines.append(f"{key:<16} {part['count']:>5}  {euros(part['amount']):>12}")
            lines.append(f"{'retries':<16} {report.retry_count:>5}")
            lines.append(f"{'provider fees':<16} {'':>5}  {euros(report.fees_cents):>12}")
            lines.append(f"{'payouts':<16} {'':>5}  {euros(report.payouts_cents):>12}")
            lines.append(f"{'net':<16} {'':>5}  {euros(report.net_cents):>12}")
            for customer_id, name, cents in report.open_by_customer:
                lines.append(f"open {customer_id} {name}: {euros(cents)}")
            text = "\n".join(lines) + "\n"
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
