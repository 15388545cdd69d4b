"""Invoice numbers: unique per merchant, the merchant's own or the next of its sequence.

The sequence is one row per merchant and series, bumped by ``UPDATE … RETURNING``: the update
takes the row's lock (PostgreSQL) or the database's write lock (SQLite), so two invoices made at
the same moment get consecutive, distinct numbers, and a transaction that rolls back gives its
number back (no gaps, as Dutch and German invoicing rules want)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.invoices.models import Invoice, InvoiceSequence, InvoiceSettings
from portal.merchants.models import Merchant
from portal.sepa import to_sepa_text

DEFAULT_PREFIX = "INV-"
DEFAULT_DUE_DAYS = 14
DIGITS = 5


def settings_of(session: Session, merchant_id: int) -> InvoiceSettings:
    """The merchant's invoice settings (the defaults, unsaved, when it has none)."""
    row = session.scalar(select(InvoiceSettings).where(InvoiceSettings.merchant_id == merchant_id))
    if row is None:
        row = InvoiceSettings(merchant_id=merchant_id, number_prefix=DEFAULT_PREFIX, yearly=True,
                              due_days=DEFAULT_DUE_DAYS, updated_at=datetime.min)
    return row


def format_number(settings: InvoiceSettings, series: str, value: int) -> str:
    year = f"{series}-" if series else ""
    return f"{settings.number_prefix}{year}{value:0{DIGITS}d}"


def _bump(session: Session, merchant_id: int, series: str) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(InvoiceSequence).values(merchant_id=merchant_id, series=series,
                                                   last_value=0)
                    .on_conflict_do_nothing(index_elements=["merchant_id", "series"]))
    return session.execute(
        update(InvoiceSequence)
        .where(InvoiceSequence.merchant_id == merchant_id, InvoiceSequence.series == series)
        .values(last_value=InvoiceSequence.last_value + 1)
        .returning(InvoiceSequence.last_value)
        .execution_options(synchronize_session=False)).scalar_one()


def next_number(session: Session, merchant_id: int, issue_date: date) -> str:
    """The next number of the merchant's series for this issue date, skipping any the merchant
    already used as its own."""
    settings = settings_of(session, merchant_id)
    series = str(issue_date.year) if settings.yearly else ""
    while True:
        number = format_number(settings, series, _bump(session, merchant_id, series))
        if not number_taken(session, merchant_id, number):
            return number


def number_taken(session: Session, merchant_id: int, number: str) -> bool:
    return session.scalar(select(Invoice.id).where(Invoice.merchant_id == merchant_id,
                                                   Invoice.number == number)) is not None


class InvoiceSettingsError(ValueError):
    """A setting out of range; the message says which and why."""


def configure_invoicing(session: Session, merchant: Merchant, *, actor: str, now: datetime,
                        number_prefix: str | None = None, yearly: bool | None = None,
                        due_days: int | None = None) -> InvoiceSettings:
    """Create or change the merchant's invoice settings (each checked first)."""
    merchant_id = merchant.id

    if number_prefix is not None and (len(number_prefix) > 20
                                      or to_sepa_text(number_prefix, 20) != number_prefix):
        raise InvoiceSettingsError("the prefix is at most 20 letters, digits and - / . ")
    if due_days is not None and not 0 <= due_days <= 365:
        raise InvoiceSettingsError("due days must be 0 to 365")
    row = session.scalar(select(InvoiceSettings).where(InvoiceSettings.merchant_id == merchant_id))
    if row is None:
        row = InvoiceSettings(merchant_id=merchant_id, number_prefix=DEFAULT_PREFIX, yearly=True,
                              due_days=DEFAULT_DUE_DAYS, updated_at=now)
        session.add(row)
    if number_prefix is not None:
        row.number_prefix = number_prefix
    if yearly is not None:
        row.yearly = yearly
    if due_days is not None:
        row.due_days = due_days
    row.updated_at = now
    session.flush()
    record_audit(session, action="invoices.configure", subject=merchant.public_id, actor=actor,
                 merchant_id=merchant_id, now=now,
                 data={"number_prefix": row.number_prefix, "yearly": row.yearly,
                       "due_days": row.due_days})
    return row
