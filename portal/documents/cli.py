"""``flask --app portal mandate retimestamp``: renew archive timestamps before they lapse."""

from __future__ import annotations

import sys

import click
from flask import current_app

from portal.adapters import get_adapters
from portal.config import ConfigurationError
from portal.db import session_scope
from portal.documents.archive import count_due, pdfs_due, renew_pdf, renewal_due_before


@click.command("retimestamp")
@click.option("--batch-size", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="PDFs looked up per batch; each PDF is renewed in its own transaction.")
@click.option("--dry-run", is_flag=True, help="Only count and list the PDFs that are due.")
def retimestamp_command(batch_size: int, dry_run: bool) -> None:
    """Renew the archive timestamp of every stored PDF whose newest one expires within
    ARCHIVE_RENEWAL_DAYS (or that has none). Safe to re-run and to run while the portal
    serves; exits 1 if any PDF could not be renewed."""
    adapters = get_adapters()
    now = adapters.clock()
    due_before = renewal_due_before(now, int(current_app.config["ARCHIVE_RENEWAL_DAYS"]))
    with session_scope() as session:
        total = count_due(session, due_before)
    click.echo(f"{total} PDF(s) due (newest archive timestamp expires before "
               f"{due_before:%Y-%m-%d}, or none)")
    if dry_run or not total:
        return
    try:
        seal = adapters.sealing().sealer()
    except (ConfigurationError, OSError, ValueError) as exc:
        raise click.ClickException(f"cannot seal: {exc}") from exc
    store = adapters.pdf_store
    after, done, failed, batch = 0, 0, 0, 0
    while True:
        with session_scope() as session:
            ids = pdfs_due(session, due_before, after_id=after, limit=batch_size)
        if not ids:
            break
        batch += 1
        for pdf_id in ids:
            with session_scope() as session:
                outcome = renew_pdf(session, pdf_id, sealer=seal, store=store,
                                    now=adapters.clock(),
                                    due_before=due_before)
            if outcome is None or outcome.outcome == "not_due":
                continue  # another run has it, or just did it
            if outcome.outcome == "renewed":
                done += 1
                until = f"{outcome.renew_by:%Y-%m-%d}" if outcome.renew_by else "-"
                click.echo(f"renewed {outcome.mandate}: {outcome.old_sha256[:12]} -> "
                           f"{(outcome.new_sha256 or '')[:12]}, renew by {until}")
            else:
                failed += 1
                click.echo(f"FAILED {outcome.mandate}: {outcome.reason}", err=True)
        after = ids[-1]
        click.echo(f"batch {batch}: {done} renewed, {failed} failed of {total} due")
    click.echo(f"done: {done} renewed, {failed} failed")
    if failed:
        sys.exit(1)
