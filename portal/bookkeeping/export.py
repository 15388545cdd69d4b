"""The report as CSV files a spreadsheet opens as they are: UTF-8 with a byte order mark,
comma-separated, one header row, dates as 2026-03-31, amounts in euros with a point and two
decimals (negative for money out), and text that could start a formula made inert."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from portal.bookkeeping.service import Report

BOM = "\ufeff"
TRANSACTION_COLUMNS = ("date", "type", "invoice_number", "customer_id", "customer",
                       "description", "amount_eur", "currency", "reference")
INVOICE_COLUMNS = ("invoice_number", "invoice_id", "customer_id", "customer", "issue_date",
                   "due_date", "status", "net_eur", "vat_eur", "amount_eur", "paid_eur",
                   "open_eur", "paid_on")
OPEN_COLUMNS = ("customer_id", "customer", "open_eur")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def euros(cents: int) -> str:
    """``-1234`` → ``"-12.34"``: exact, whatever the size."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def text(value: str | None) -> str:
    """Text a spreadsheet will not read as a formula (OWASP CSV injection)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return BOM + out.getvalue()


def transactions_csv(report: Report) -> str:
    return _csv(TRANSACTION_COLUMNS, (
        (line.day.isoformat(), line.kind, text(line.invoice_number), line.customer_id,
         text(line.customer_name), text(line.description), euros(line.amount_cents), "EUR",
         line.reference) for line in report.lines))


def invoices_csv(report: Report) -> str:
    return _csv(INVOICE_COLUMNS, (
        (text(row.number), row.public_id, row.customer_id, text(row.customer_name),
         row.issue_date.isoformat(), row.due_date.isoformat(), row.status, euros(row.net_cents),
         euros(row.vat_cents), euros(row.amount_cents), euros(row.paid_cents),
         euros(row.open_cents), row.paid_on.isoformat() if row.paid_on else "")
        for row in report.invoices_issued))


def open_amounts_csv(report: Report) -> str:
    return _csv(OPEN_COLUMNS, ((customer_id, text(name), euros(cents))
                               for customer_id, name, cents in report.open_by_customer))


#: The exports by name, as the API and the CLI offer them.
EXPORTS = {"transactions": transactions_csv, "invoices": invoices_csv,
           "open-amounts": open_amounts_csv}
