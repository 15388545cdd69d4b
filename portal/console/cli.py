"""``flask --app portal staff create | disable | set-password``: console staff accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.adapters import get_adapters
from portal.console.models import StaffRole
from portal.console.service import (
    MIN_PASSWORD_LENGTH,
    StaffError,
    create_staff,
    disable_staff,
    find_merchants,
    set_password,
    set_role,
)
from portal.db import session_scope

staff_cli = AppGroup("staff", help="Staff who may use the console (/console).")
ROLES = click.Choice(["support", "merchant-admin", "platform-admin"])


def _role(name: str) -> StaffRole:
    return StaffRole(name.replace("-", "_"))


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@staff_cli.command("create", help=(
    "Create a staff user: by default a platform admin (the first one, who then invites the "
    f"rest from the console). The password needs at least {MIN_PASSWORD_LENGTH} characters; "
    "it is asked for twice, or read from the first line of standard input with "
    "--password-stdin. TOTP is set up at the first login."))
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts).")
@click.option("--role", type=ROLES, default="platform-admin", show_default=True)
@click.option("--merchant", "merchants", multiple=True,
              help="A merchant (mer_…) a support or merchant admin works for; repeatable.")
def staff_create(email: str, name: str, password_stdin: bool, role: str,
                 merchants: tuple[str, ...]) -> None:
    password = _read_password(password_stdin)
    try:
        with session_scope() as session:
            staff = create_staff(session, email=email, name=name, password=password,
                                 now=get_adapters().clock(), role=_role(role),
                                 merchants=find_merchants(session, list(merchants)))
            public_id = staff.public_id
    except StaffError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(public_id)


@staff_cli.command("disable")
@click.argument("email")
def staff_disable(email: str) -> None:
    """Disable a staff user: no more logins, and open console sessions end."""
    try:
        with session_scope() as session:
            staff = disable_staff(session, email, now=get_adapters().clock())
            public_id = staff.public_id
    except StaffError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"disabled {public_id}")


@staff_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def staff_set_password(email: str, password_stdin: bool) -> None:
    """Set a staff user's password; every console session of theirs ends."""
    password = _read_password(password_stdin)
    try:
        with session_scope() as session:
            staff = set_password(session, email, password, now=get_adapters().clock())
            public_id = staff.public_id
    except StaffError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"password changed for {public_id}; its console sessions ended")


@staff_cli.command("role")
@click.argument("email")
@click.option("--role", type=ROLES, required=True)
@click.option("--merchant", "merchants", multiple=True,
              help="A merchant (mer_…) they work for; repeatable; replaces the earlier ones.")
def staff_role(email: str, role: str, merchants: tuple[str, ...]) -> None:
    """Change a staff user's role and merchants; their console sessions end."""
    try:
        with session_scope() as session:
            staff = set_role(session, email, _role(role),
                             find_merchants(session, list(merchants)),
                             now=get_adapters().clock(), actor="cli")
            public_id = staff.public_id
    except StaffError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{public_id} is now {role}")
