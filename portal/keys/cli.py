"""``flask --app portal keys reencrypt | status``: data-key rotation (see README, Key rotation)."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from portal.db import state
from portal.keys.service import DEFAULT_BATCH_SIZE, ColumnReport, reencrypt_all, usage

keys_cli = AppGroup("keys", help="Data keys: move encrypted values to the current key.")


@keys_cli.command("reencrypt")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True,
              type=click.IntRange(1, 100_000), help="Rows per transaction.")
@click.option("--pause", default=0.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds to wait between batches, to go easy on a busy database.")
def keys_reencrypt(batch_size: int, pause: float) -> None:
    """Re-encrypt every encrypted value, and recompute the lookup hashes, under the current
    PORTAL_DATA_KEY. Safe while the portal serves; run it again after an interruption."""
    cipher = state().cipher
    click.echo(f"current data key: {cipher.current_key_id}; "
               f"configured: {', '.join(cipher.key_ids)}")

    def progress(report: ColumnReport) -> None:
        done = report.reencrypted + report.skipped + len(report.undecryptable)
        click.echo(f"{report.name}: {done}/{report.total}")

    reports = reencrypt_all(state().factory, cipher, batch_size=batch_size, progress=progress,
                            pause=(lambda: time.sleep(pause)) if pause else None)
    failed = False
    for report in reports:
        line = (f"{report.name}: {report.reencrypted} re-encrypted, "
                f"{report.skipped} changed meanwhile")
        if report.undecryptable:
            failed = True
            ids = ", ".join(str(i) for i in report.undecryptable[:10])
            line += (f", {len(report.undecryptable)} NOT DECRYPTABLE with the configured keys "
                     f"(ids {ids}{', …' if len(report.undecryptable) > 10 else ''})")
        if report.remaining:
            failed = True
            line += f", {report.remaining} still not under the current key"
        click.echo(line)
    if failed:
        click.echo("Keep the old keys in PORTAL_DATA_KEY_FALLBACKS. Values written meanwhile by "
                   "a process with an older configuration: restart it and run this again.",
                   err=True)
        sys.exit(1)
    click.echo(f"every encrypted value is under key {cipher.current_key_id}: "
               "the fallback keys may be removed")


@keys_cli.command("status")
def keys_status() -> None:
    """How many encrypted values each data key holds; exit 1 while some are not current."""
    cipher = state().cipher
    stale = 0
    for name, counts in usage(state().factory).items():
        parts = []
        for key_id, count in sorted(counts.items()):
            known = ("current" if key_id == cipher.current_key_id
                     else "fallback" if key_id in cipher.key_ids else "NOT CONFIGURED")
            parts.append(f"{key_id} ({known}): {count}")
            stale += count if key_id != cipher.current_key_id else 0
        click.echo(f"{name}: {'; '.join(parts) or 'empty'}")
    if stale:
        click.echo(f"{stale} values are not under the current key: "
                   "run `flask --app portal keys reencrypt`", err=True)
        sys.exit(1)
