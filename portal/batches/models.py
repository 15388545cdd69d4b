"""CSV batches: the uploaded file (kept in pieces, read back as a stream), its status and
progress, the bad rows a check found, and the history of each mandate imported from one."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, enum_column
from portal.mandates.models import Mandate


class BatchKind(enum.StrEnum):
    INVITATIONS = "invitations"
    PAYMENT_REQUESTS = "payment_requests"
    INVOICES = "invoices"
    #: Mandates signed elsewhere (another provider, paper), created directly active.
    MANDATES = "mandates"


class BatchStatus(enum.StrEnum):
    """Where a batch stands; changed only by :mod:`portal.batches.lifecycle`."""

    #: Stored; its check is queued.
    UPLOADED = "uploaded"
    #: The check (dry run) is reading the file.
    CHECKING = "checking"
    #: Every row is good; nothing written yet (a dry run ends here).
    VALID = "valid"
    #: Some rows are bad (see its errors); nothing was written.
    INVALID = "invalid"
    #: Writing every row in one transaction.
    IMPORTING = "importing"
    IMPORTED = "imported"


class CsvBatch(Base):
    """One uploaded CSV file of one merchant and what became of it."""

    __tablename__ = "csv_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    kind: Mapped[BatchKind] = mapped_column(enum_column(BatchKind))
    status: Mapped[BatchStatus] = mapped_column(enum_column(BatchStatus))
    #: The file name as uploaded (for people; never used as a path).
    filename: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the file's bytes, hex.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    #: Import the file once the check finds every row good (else the check is a dry run).
    import_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``<merchant id>:<sha256>`` once an import is asked for (unique: one import per file and
    #: merchant, however often it is uploaded); cleared when the file turns out bad.
    import_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    #: Data rows in the file (known once the check has read it all) and rows done so far.
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    #: A problem with the file as a whole (encoding, header), shown above its row errors.
    file_error: Mapped[str | None] = mapped_column(Text)
    #: Who uploaded it (``staff:stf_…``), and the objects it created (public ids: the count).
    uploaded_by: Mapped[str] = mapped_column(String(80))
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    checked_at: Mapped[datetime | None]
    imported_at: Mapped[datetime | None]


class CsvBatchChunk(Base):
    """A piece of the uploaded file (the file is read back piece by piece, never whole)."""

    __tablename__ = "csv_batch_chunk"
    __table_args__ = (UniqueConstraint("batch_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("csv_batch.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CsvBatchError(Base):
    """One bad cell (or row, or the header) the check found."""

    __tablename__ = "csv_batch_error"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("csv_batch.id"), index=True)
    #: The physical line of the file where the row starts (1 is the header).
    line: Mapped[int] = mapped_column(Integer)
    #: The column's name in the header ('' for the row as a whole).
    column: Mapped[str] = mapped_column(String(100))
    #: The cell's value as given (cut to 200 characters).
    value: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(300))


class ImportedMandate(Base):
    """Where an imported mandate came from and what the previous creditor collected on it: the
    sequence type of its next debit (FRST or RCUR) and its expiry follow from this."""

    __tablename__ = "imported_mandate"

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("csv_batch.id"), index=True)
    #: The file's line the mandate was read from.
    line: Mapped[int] = mapped_column(Integer)
    #: A collection was made on it before (FRST or RCUR): the next one is RCUR.
    collected_before: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The last collection there (midnight UTC of its date): the 36 months run from it.
    last_collected_at: Mapped[datetime | None]
    imported_at: Mapped[datetime]

    mandate: Mapped[Mandate] = relationship()
