"""Batch fixtures: CSV text of each kind, an upload through the service, and the jobs run."""

from __future__ import annotations

import io
from collections.abc import Sequence

from flask import Flask
from schwifty import IBAN
from sqlalchemy.orm import Session

from portal.batches.models import BatchKind, CsvBatch
from portal.batches.service import CHECK_JOB, IMPORT_JOB, Limits, store_upload
from portal.clock import utcnow
from portal.jobs.service import run_due_jobs
from portal.merchants.models import Merchant

MANDATE_HEADER = ("reference", "scheme", "signature_date", "iban", "debtor_name",
                  "last_sequence_type", "last_collection_date")


def iban(number: int) -> str:
    """A valid Dutch IBAN, a different one per number."""
    return str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{number:010d}"))


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def mandate_rows(count: int, start: int = 1) -> list[list[str]]:
    return [[f"OLD-{n:06d}", "CORE", "2024-05-17", iban(n), f"Debtor {n}",
             "RCUR" if n % 2 else "", "2026-10-01" if n % 2 else ""]
            for n in range(start, start + count)]


def upload(session: Session, merchant: Merchant, text: str | bytes,
           kind: BatchKind = BatchKind.MANDATES, *, import_requested: bool = False,
           limits: Limits | None = None, filename: str = "file.csv") -> CsvBatch:
    data = text.encode() if isinstance(text, str) else text
    result = store_upload(session, merchant.id, kind, filename, io.BytesIO(data),
                          import_requested=import_requested, actor="staff:stf_test",
                          now=utcnow(), limits=limits or Limits())
    session.commit()
    return result.batch


def run_batch_jobs(app: Flask) -> int:
    return run_due_jobs(app, kinds=(CHECK_JOB, IMPORT_JOB))
