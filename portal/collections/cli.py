"""``flask --app portal collections …``: settings, a collections run, exports, importing a
bank's returns, and a simulated cycle for the demo."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.collections.batches import ExportRefused, export_batches
from portal.collections.cycle import run_collections
from portal.collections.reports import ReportError
from portal.collections.returns import UnknownDebits, import_report
from portal.collections.service import SettingsError, configure_collections
from portal.db import session_scope
from portal.merchants.models import Merchant

collections_cli = AppGroup("collections", help="Direct-debit collections.")


def _merchant_id(session, public_id: str) -> int:
    from sqlalchemy import select

    merchant_id = session.scalar(select(Merchant.id).where(Merchant.public_id == public_id))
    if merchant_id is None:
        raise click.ClickException(f"no merchant {public_id}")
    return merchant_id


@collections_cli.command("configure")
@click.option("--merchant", "merchant", required=True, help="mer_…")
@click.option("--route", type=click.Choice(["bank", "provider"]))
@click.option("--creditor-iban", help="The account collections are credited to.")
@click.option("--creditor-bic")
@click.option("--pain-version", type=click.Choice(["pain.008.001.02", "pain.008.001.08"]))
@click.option("--lead-days", type=int, help="Business days your bank needs before D-1.")
@click.option("--prenotification-days", type=int, help="Calendar days (14 unless agreed).")
@click.option("--retry-delays", help="Days before the 2nd and 3rd attempt, e.g. 5,10.")
@click.option("--b2b-max-cents", "b2b_max_amount_cents", type=int)
@click.option("--amendment-invitations/--no-amendment-invitations", default=None)
def configure(merchant: str, retry_delays: str | None, **options: object) -> None:
    """Set how a merchant collects."""
    if retry_delays:
        options["retry_delays_days"] = [part.strip() for part in retry_delays.split(",")]
    try:
        with session_scope() as session:
            row = configure_collections(session, _merchant_id(session, merchant), actor="cli",
                                        **options)  # type: ignore[arg-type]
            click.echo(f"route {row.route.value}, {row.pain_version.value}, creditor account "
                       f"{row.creditor_iban or '(none)'}, lead {row.lead_days} days, "
                       f"pre-notification {row.prenotification_days} days, retries after "
                       f"{row.retry_delays_days} days")
    except SettingsError as exc:
        for field, message in exc.errors.items():
            click.echo(f"error: {field}: {message}", err=True)
        sys.exit(2)


@collections_cli.command("run")
def run() -> None:
    """Expire unused mandates, export due debits, clear and import the bank's reports; create
    the provider payments of provider-route debits and poll those awaiting their outcome."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    adapters = get_adapters(app)
    summary = run_collections(app, adapters.collectors, adapters.clock())
    click.echo(f"expired mandates: {len(summary.expired_mandates)}, batches: "
               f"{', '.join(summary.batches) or 'none'}, imports: "
               f"{', '.join(summary.imports) or 'none'}, provider payments: "
               f"{', '.join(summary.charges) or 'none'}, provider outcomes: "
               f"{len(summary.updates)}")
    for problem in summary.problems:
        click.echo(f"problem: {problem}", err=True)


@collections_cli.command("export")
@click.option("--merchant", required=True, help="mer_…")
def export(merchant: str) -> None:
    """Export the merchant's due debits now; prints each batch and its file."""
    adapters = get_adapters()
    collectors = adapters.collectors
    try:
        with session_scope() as session:
            for batch in export_batches(session, _merchant_id(session, merchant), collectors,
                                        actor="cli", now=adapters.clock()):
                click.echo(f"{batch.public_id} {batch.scheme} {batch.transaction_count} debits "
                           f"{batch.control_sum_cents / 100:.2f} EUR "
                           f"{collectors.store.path(batch.file_sha256)}")
    except ExportRefused as exc:
        raise click.ClickException(str(exc)) from exc


@collections_cli.command("import-returns")
@click.option("--merchant", required=True, help="mer_…")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_returns(merchant: str, report: Path) -> None:
    """Import a pain.002, camt.054 or CSV of returns; nothing changes if a line is unknown."""
    adapters = get_adapters()
    collectors = adapters.collectors
    try:
        with session_scope() as session:
            result = import_report(session, _merchant_id(session, merchant), report, collectors,
                                   source="cli", actor="cli", now=adapters.clock())
            counts = ", ".join(f"{k} {v}" for k, v in result.counts.items() if v)
            note = " (already imported: nothing changed)" if result.duplicate else ""
            click.echo(f"{result.report.public_id} {result.report.format.value}: "
                       f"{counts or 'no lines'}{note}")
    except UnknownDebits as exc:
        for line in exc.lines:
            click.echo(f"line {line.position}: {line.end_to_end_id or '-'}: {line.reason}",
                       err=True)
        click.echo(f"{exc}", err=True)
        sys.exit(1)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc


@collections_cli.command("simulate")
@click.option("--mandate", help="md_… (default: the newest active mandate)")
@click.option("--amount", "amount_cents", default=2500, show_default=True, help="Cents.")
@click.option("--days", default=120, show_default=True, help="Simulated days at most.")
def simulate_command(mandate: str | None, amount_cents: int, days: int) -> None:
    """Collect from a signed mandate on a simulated clock: export, sandbox bank, returns,
    retries, pay link. Sign with a test IBAN (README) to choose the outcome."""
    from sqlalchemy import select

    from portal.collections.sandbox_bank import TEST_ACCOUNTS
    from portal.collections.simulation import simulate
    from portal.mandates.models import Mandate, MandateStatus

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if get_adapters(app).collectors.bank.name != "sandbox":
        raise click.ClickException("simulate needs the sandbox bank (PORTAL_COLLECTION_BANK)")
    if mandate is None:
        with session_scope() as session:
            mandate = session.scalar(select(Mandate.public_id).where(
                Mandate.status == MandateStatus.ACTIVE).order_by(Mandate.id.desc()).limit(1))
        if mandate is None:
            click.echo("No active mandate yet: sign one first (make run prints the link), e.g. "
                       "with one of these test IBANs:", err=True)
            for account in TEST_ACCOUNTS:
                click.echo(f"  {account.iban}  {account.behaviour}", err=True)
            sys.exit(1)
    from portal.collections.service import DebitRefused

    try:
        status = simulate(app, mandate, amount_cents=amount_cents, days=days, echo=click.echo)
    except (LookupError, DebitRefused) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"debit {status.value}; the debtor's mails are in instance/outbox/")


def demo_hints(session: Session, merchant: Merchant, flask: str) -> list[str]:
    """For ``flask demo``: let the demo merchant collect (once), and say how to watch it."""
    from sqlalchemy import select

    from portal.collections.models import CollectionSettings

    if session.scalar(select(CollectionSettings.id).where(
            CollectionSettings.merchant_id == merchant.id)) is None:
        configure_collections(session, merchant.id, actor="demo",
                              creditor_iban="NL91ABNA0417164300", creditor_bic="ABNANL2A")
    return [("  Collect from it:  sign with a test IBAN, e.g. NL28 INGB 0000 0000 01 (AM04 "
            "every time; README lists the others),"),
            f"                    then: {flask} collections simulate"]
