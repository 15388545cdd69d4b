"""``flask --app portal banks …``: the debtor banks' directory, and our certificate's
fingerprint (what the acquirer registers)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.adapters import get_adapters
from portal.banks.base import Bank, BankError, Product
from portal.banks.certificates import fingerprint
from portal.banks.directory import debtor_banks
from portal.db import session_scope

banks_cli = AppGroup("banks", help="Bank signing (eMandates).")


def _bank() -> Bank:
    bank = get_adapters().bank
    if bank is None:
        raise click.ClickException("bank signing is off (BANK=none)")
    return bank


@banks_cli.command("directory")
@click.option("--scheme", type=click.Choice(["CORE", "B2B"]), default="CORE", show_default=True)
@click.option("--refresh", is_flag=True, help="Fetch it now, even if the copy is recent.")
def directory(scheme: str, refresh: bool) -> None:
    """List the banks debtors can choose (cached; fetched at most daily unless --refresh)."""
    bank = _bank()
    product = Product.for_scheme(scheme)
    try:
        with session_scope() as session:
            listed = debtor_banks(session, bank, product, get_adapters().clock(), refresh=refresh)
    except BankError as exc:
        raise click.ClickException(f"directory unavailable: {exc}") from None
    for entry in listed.banks:
        click.echo(f"{entry.bic:<11}  {entry.country:<16}  {entry.name}")
    click.echo(f"{len(listed.banks)} banks for {scheme} ({bank.name}, listed "
               f"{listed.directory_at:%Y-%m-%d})")


@banks_cli.command("fingerprint")
def show_fingerprint() -> None:
    """Print our signing certificate's SHA-1 fingerprint (the KeyName of every request)."""
    bank = _bank()
    click.echo(fingerprint(bank.settings.signing.certificate))  # type: ignore[attr-defined]
