"""``flask --app portal mail bounce``: feed a bounce (DSN) from the mail server, e.g. from a
pipe transport or a mailbox fetcher, to record it on its invitation."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.adapters import get_adapters
from portal.db import session_scope
from portal.mail.bounces import parse_bounce, record_bounce

mail_cli = AppGroup("mail", help="Mail to customers.")


@mail_cli.command("bounce")
@click.argument("source", type=click.File("rb"), default="-")
def bounce(source) -> None:
    """Record a bounce read from SOURCE (a file, or - for stdin). Always exits 0 so a mail
    server piping into it never bounces the bounce."""
    found = parse_bounce(source.read())
    if found is None:
        click.echo("ignored: not a permanent failure of one of our invitation mails")
        return
    with session_scope() as session:
        recorded = record_bounce(session, found, now=get_adapters().clock())
    click.echo(f"recorded: {found.invitation} {found.status}" if recorded
               else f"ignored: unknown invitation {found.invitation}")
