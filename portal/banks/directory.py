"""The debtor banks per product, fetched from the acquirer at most daily (iDx asks creditors not
to fetch more often) or on demand, and kept in the database for every process to share."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.banks.base import Bank, BankError, DebtorBank, Directory, Product
from portal.banks.models import BankDirectory

log = logging.getLogger(__name__)
MAX_AGE = timedelta(hours=24)


def _directory(row: BankDirectory) -> Directory:
    return Directory(product=Product(row.product), directory_at=row.directory_at,
                     banks=tuple(DebtorBank(b["bic"], b["name"], b["country"]) for b in row.banks))


def cached_directory(session: Session, bank_name: str, product: Product) -> BankDirectory | None:
    return session.scalar(select(BankDirectory).where(BankDirectory.bank == bank_name,
                                                      BankDirectory.product == product.value))


def debtor_banks(session: Session, bank: Bank, product: Product, now: datetime, *,
                 max_age: timedelta = MAX_AGE, refresh: bool = False) -> Directory:
    """The directory: the cached one while younger than ``max_age`` (unless ``refresh``),
    else fetched and stored (commits). A failed fetch falls back to the stale copy if any."""
    row = cached_directory(session, bank.name, product)
    if row is not None and not refresh and now - row.fetched_at < max_age:
        return _directory(row)
    try:
        fresh = bank.directory(product)
    except BankError:
        if row is None:
            raise
        log.warning("directory of %s unavailable; using the copy of %s", bank.name,
                    row.fetched_at.isoformat(), exc_info=True)
        return _directory(row)
    banks = [{"bic": b.bic, "name": b.name, "country": b.country} for b in fresh.banks]
    if row is None:
        row = BankDirectory(bank=bank.name, product=product.value, banks=banks,
                            directory_at=fresh.directory_at, fetched_at=now)
        session.add(row)
    else:
        row.banks, row.directory_at, row.fetched_at = banks, fresh.directory_at, now
    try:
        session.commit()
    except IntegrityError:  # another process stored it first: theirs is as fresh
        session.rollback()
    return fresh
