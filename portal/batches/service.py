"""CSV batches: store an upload, check every row (the dry run), import a good file in one
transaction, and report the bad rows.

A file is checked in the background, piece by piece, with its progress and its bad rows
committed as it goes; nothing else is written. An import re-reads the file and writes every
row in one transaction, all rows or none: through the same services as the API, or for
mandates signed elsewhere in bulk (:mod:`portal.batches.bulk_mandates`), its progress told
meanwhile outside that transaction (:mod:`portal.batches.progress`). Uploading the same file
again (same bytes, same merchant) never imports it twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, BinaryIO

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.batches.csvfile import CsvRows, FileProblem, HeaderProblems, Row, RowProblem
from portal.batches.kinds import KINDS, BatchContext, Checked
from portal.batches.lifecycle import move_batch
from portal.batches.models import (
    BatchKind,
    BatchStatus,
    CsvBatch,
    CsvBatchChunk,
    CsvBatchError,
    ImportedMandate,
)
from portal.batches.writers import RowRefused, write_rows
from portal.ids import looks_like, new_public_id
from portal.jobs.service import enqueue
from portal.mandates.models import Mandate

CHECK_JOB = "batch.check"
IMPORT_JOB = "batch.import"
#: Pieces the file is stored and read back in.
CHUNK_BYTES = 1024 * 1024
#: Rows checked (or written) between two commits of the progress.
ROWS_PER_STEP = 1000
#: Bad cells kept per batch (the count goes on): enough for any report a person reads.
MAX_STORED_ERRORS = 100_000
VALUE_LENGTH = 200


class UploadRefused(ValueError):
    """The upload cannot become a batch (too large, empty, not a file); nothing was stored."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * 1024 * 1024
    max_rows: int = 100_000

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(max_bytes=int(config["BATCH_MAX_BYTES"]),
                   max_rows=int(config["BATCH_MAX_ROWS"]))


@dataclass(frozen=True)
class Upload:
    batch: CsvBatch
    #: The earlier batch of the same file that was (or is being) imported: nothing new queued.
    already: bool = False


def _import_key(merchant_id: int, sha256: str) -> str:
    return f"{merchant_id}:{sha256}"


def earlier_import(session: Session, merchant_id: int, sha256: str) -> CsvBatch | None:
    return session.scalar(select(CsvBatch).where(
        CsvBatch.import_key == _import_key(merchant_id, sha256)))


def store_upload(session: Session, merchant_id: int, kind: BatchKind, filename: str,
                 stream: BinaryIO, *, import_requested: bool, actor: str, now: datetime,
                 limits: Limits) -> Upload:
    """The file as a new batch with its check queued, in the caller's transaction; or the
    earlier batch that imported the same bytes for this merchant (then nothing is added).
    UploadRefused for an empty or too large file."""
    batch = CsvBatch(public_id=new_public_id("upl"), merchant_id=merchant_id, kind=kind,
                     status=BatchStatus.UPLOADED, filename=(filename or "upload.csv")[:255],
                     sha256="", size_bytes=0, import_requested=import_requested, rows_done=0,
                     error_count=0, created_count=0, uploaded_by=actor, created_at=now,
                     updated_at=now)
    session.add(batch)
    session.flush()
    digest = hashlib.sha256()
    size = lines = 0
    for seq, piece in enumerate(iter(lambda: stream.read(CHUNK_BYTES), b"")):
        size += len(piece)
        lines += piece.count(b"\n")
        if size > limits.max_bytes:
            raise UploadRefused(f"The file is larger than {limits.max_bytes // (1024 * 1024)} "
                                "MiB; split it into smaller files.")
        digest.update(piece)
        session.add(CsvBatchChunk(batch_id=batch.id, seq=seq, data=piece))
        session.flush()
    if size == 0:
        raise UploadRefused("The file is empty.")
    if lines > limits.max_rows + 1 and _records(stream) > limits.max_rows + 1:
        raise UploadRefused(f"Too many rows: a batch has at most {limits.max_rows:,} rows; "
                            "split the file.")
    batch.sha256, batch.size_bytes = digest.hexdigest(), size
    earlier = earlier_import(session, merchant_id, batch.sha256)
    if earlier is not None:  # keep nothing of the repeat
        session.execute(delete(CsvBatchChunk).where(CsvBatchChunk.batch_id == batch.id))
        session.delete(batch)
        session.flush()
        return Upload(earlier, already=True)
    if import_requested:
        batch.import_key = _import_key(merchant_id, batch.sha256)
    record_audit(session, action="batch.uploaded", subject=batch.public_id, actor=actor,
                 merchant_id=merchant_id, now=now,
                 data={"kind": kind.value, "sha256": batch.sha256, "size_bytes": size,
                       "filename": batch.filename, "import_requested": import_requested})
    enqueue(session, CHECK_JOB, {"batch": batch.public_id},
            dedupe_key=f"{CHECK_JOB}:{batch.public_id}", max_attempts=3)
    return Upload(batch)


def _records(stream: BinaryIO) -> int:
    """CSV records in the file, blank lines aside (a quoted cell may hold line breaks, so
    lines over the limit do not yet mean rows over it); the check reports the line."""
    import csv
    import io

    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    try:
        return sum(1 for record in csv.reader(text, delimiter=",") if any(record))
    except csv.Error:
        return 0  # not readable as CSV: the check says where
    finally:
        text.detach()


class AlreadyImported(Exception):
    def __init__(self, batch: CsvBatch) -> None:
        super().__init__(batch.public_id)
        self.batch = batch


def request_import(session: Session, batch: CsvBatch, *, actor: str, now: datetime) -> None:
    """Import a batch a dry run found good; AlreadyImported when this file was imported (or is
    being imported) from another batch. The caller commits (a race on the key is the unique
    constraint's, as :class:`sqlalchemy.exc.IntegrityError`)."""
    earlier = earlier_import(session, batch.merchant_id, batch.sha256)
    if earlier is not None and earlier.id != batch.id:
        raise AlreadyImported(earlier)
    if batch.status is not BatchStatus.VALID:
        raise ValueError(f"the batch is {batch.status.value}")
    batch.import_requested = True
    batch.import_key = _import_key(batch.merchant_id, batch.sha256)
    record_audit(session, action="batch.import_requested", subject=batch.public_id,
                 actor=actor, merchant_id=batch.merchant_id, now=now, data={"sha256": batch.sha256})
    enqueue(session, IMPORT_JOB, {"batch": batch.public_id},
            dedupe_key=f"{IMPORT_JOB}:{batch.public_id}", max_attempts=3)


def find_batch(session: Session, merchant_id: int, public_id: str) -> CsvBatch | None:
    if not looks_like(public_id, "upl"):
        return None
    return session.scalar(select(CsvBatch).where(CsvBatch.public_id == public_id,
                                                 CsvBatch.merchant_id == merchant_id))


def batch_by_id(session: Session, public_id: str) -> CsvBatch | None:
    if not looks_like(public_id, "upl"):
        return None
    return session.scalar(select(CsvBatch).where(CsvBatch.public_id == public_id))


def merchant_batches(session: Session, merchant_id: int, limit: int = 50) -> list[CsvBatch]:
    return list(session.scalars(select(CsvBatch).where(CsvBatch.merchant_id == merchant_id)
                                .order_by(CsvBatch.id.desc()).limit(limit)))


# -- Reading the file ---------------------------------------------------------------------------

def file_chunks(session: Session, batch_id: int) -> Iterator[bytes]:
    """The stored file piece by piece: one piece in memory at a time."""
    seq = 0
    while True:
        piece = session.scalar(select(CsvBatchChunk.data).where(
            CsvBatchChunk.batch_id == batch_id, CsvBatchChunk.seq == seq))
        if piece is None:
            return
        yield bytes(piece)
        seq += 1


def _rows(session: Session, batch: CsvBatch, max_rows: int) -> CsvRows:
    from portal.batches.csvfile import ChunkReader

    spec = KINDS[batch.kind]
    return CsvRows(ChunkReader(file_chunks(session, batch.id)), spec.names, spec.required,
                   max_rows=max_rows)


@dataclass
class Outcome:
    """What reading the file found: the rows, the errors, and any problem of the file."""

    rows: int = 0
    errors: int = 0
    file_error: str | None = None


def checked_rows(session: Session, batch: CsvBatch, ctx: BatchContext, limits: Limits,
                 on_error: Callable[[int, str, str, str], None]) -> Iterator[list[Checked]]:
    """The file's rows checked, a step at a time: each step's good rows, after the uniqueness
    of their references (in the file and against the merchant's data) was checked too. Bad
    cells go to ``on_error(line, column, value, reason)``. FileProblem ends the reading."""
    spec = KINDS[batch.kind]
    seen: dict[str, int] = {}
    step: list[Checked] = []
    for item in _rows(session, batch, limits.max_rows):
        if isinstance(item, RowProblem):
            on_error(item.line, "", "", item.reason)
            continue
        checked = spec.check(item, ctx)
        if checked.unique is not None and not checked.errors:
            column, value = checked.unique
            first = seen.get(value)
            if first is not None:
                checked.fail(column, value, f"Repeats line {first} of this file.")
            else:
                seen[value] = item.line
        for column, value, reason in checked.errors:
            on_error(item.line, column, value, reason)
        step.append(checked)
        if len(step) >= ROWS_PER_STEP:
            yield _against_existing(session, batch, step, on_error)
            step = []
    yield _against_existing(session, batch, step, on_error)


def _against_existing(session: Session, batch: CsvBatch, step: list[Checked],
                      on_error: Callable[[int, str, str, str], None]) -> list[Checked]:
    """The step's rows, after refusing those whose reference the merchant already has, or
    that name a customer or mandate it does not have."""
    _unknown_ids(session, batch, step, on_error)
    keys = {c.unique[1]: c for c in step if c.unique is not None and not c.errors}
    if keys:
        taken = set(existing_keys(session, batch.kind, batch.merchant_id, list(keys)))
        for value in taken:
            checked = keys[value]
            column = checked.unique[0] if checked.unique else ""
            reason = ("A mandate with this reference exists already."
                      if batch.kind is BatchKind.MANDATES else
                      "An invoice with this number exists already.")
            checked.fail(column, value, reason)
            on_error(checked.line, column, value, reason)
    return step


def _unknown_ids(session: Session, batch: CsvBatch, step: list[Checked],
                 on_error: Callable[[int, str, str, str], None]) -> None:
    """Rows naming a customer (``customer_id``) or mandate (``mandate``) the merchant does not
    have: refused in the dry run, as the API refuses them."""
    from portal.mandates.models import Customer

    for column, model, kind in (("customer_id", Customer, "customer"),
                                ("mandate", Mandate, "mandate")):
        named = {c.values[column]: c for c in step if not c.errors and c.values.get(column)}
        if not named:
            continue
        known = set(session.scalars(select(model.public_id).where(
            model.merchant_id == batch.merchant_id, model.public_id.in_(list(named)))))
        for value, checked in named.items():
            if value not in known:
                checked.fail(column, value, f"No {kind} with this id.")
                on_error(checked.line, column, value, f"No {kind} with this id.")


def existing_keys(session: Session, kind: BatchKind, merchant_id: int,
                  values: list[str]) -> Iterable[str]:
    if kind is BatchKind.MANDATES:
        return session.scalars(select(Mandate.reference).where(
            Mandate.merchant_id == merchant_id, Mandate.reference.in_(values)))
    if kind is BatchKind.INVOICES:
        from portal.invoices.models import Invoice

        return session.scalars(select(Invoice.number).where(
            Invoice.merchant_id == merchant_id, Invoice.number.in_(values)))
    return ()


# -- The check (dry run) ------------------------------------------------------------------------

def printable(text: str) -> str:
    """Text as stored and shown: control characters (NUL, which PostgreSQL refuses, among
    them) spelled out as ``\\x00``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)


class ErrorLog:
    """Bad cells of one batch, written a step at a time (the first MAX_STORED_ERRORS kept)."""

    def __init__(self, session: Session, batch: CsvBatch) -> None:
        self.session, self.batch = session, batch
        self.count = 0
        self._pending: list[dict[str, Any]] = []

    def __call__(self, line: int, column: str, value: str, reason: str) -> None:
        self.count += 1
        if self.count <= MAX_STORED_ERRORS:
            self._pending.append({"batch_id": self.batch.id, "line": line,
                                  "column": printable(column)[:100],
                                  "value": printable(value)[:VALUE_LENGTH],
                                  "reason": printable(reason)[:300]})

    def flush(self) -> None:
        if self._pending:
            self.session.execute(insert(CsvBatchError), self._pending)
            self._pending = []


def check_batch(session: Session, batch: CsvBatch, ctx: BatchContext, limits: Limits, *,
                progress: Callable[[], None] = lambda: None) -> Outcome:
    """The dry run: every row checked, its bad cells recorded, progress committed each step;
    then VALID or INVALID (and, when asked and VALID, the import queued). Nothing else is
    written. Run again after a crash, it starts over."""
    if batch.status is BatchStatus.UPLOADED:
        move_batch(session, batch, BatchStatus.CHECKING, actor="batches", now=ctx.now)
    elif batch.status is not BatchStatus.CHECKING:
        return Outcome(batch.rows_total or 0, batch.error_count, batch.file_error)
    session.execute(delete(CsvBatchError).where(CsvBatchError.batch_id == batch.id))
    batch.rows_done = batch.error_count = 0
    batch.file_error = None
    session.commit()
    log = ErrorLog(session, batch)
    outcome = Outcome()
    try:
        for step in checked_rows(session, batch, ctx, limits, log):
            outcome.rows += len(step)
            log.flush()
            batch.rows_done, batch.error_count = outcome.rows, log.count
            progress()
            session.commit()
    except FileProblem as exc:
        outcome.file_error = str(exc)
        problems = exc.problems if isinstance(exc, HeaderProblems) else [(exc.column, str(exc))]
        for column, reason in problems:
            log(exc.line, column, "", reason)
        log.flush()
    outcome.errors = log.count
    _finish_check(session, batch, outcome, ctx.now)
    return outcome


def _finish_check(session: Session, batch: CsvBatch, outcome: Outcome, now: datetime) -> None:
    batch.rows_total = batch.rows_done = outcome.rows
    batch.error_count, batch.file_error = outcome.errors, outcome.file_error
    batch.checked_at = now
    good = outcome.errors == 0 and outcome.file_error is None
    move_batch(session, batch, BatchStatus.VALID if good else BatchStatus.INVALID,
               actor="batches", now=now, data={"rows": outcome.rows, "errors": outcome.errors})
    if not good:
        batch.import_key = None  # a bad file was imported by nobody: a fixed one may follow
    elif batch.import_requested:
        enqueue(session, IMPORT_JOB, {"batch": batch.public_id},
                dedupe_key=f"{IMPORT_JOB}:{batch.public_id}", max_attempts=3)
    session.commit()


# -- The import ---------------------------------------------------------------------------------

def import_batch(session: Session, batch: CsvBatch, ctx: BatchContext, limits: Limits, *,
                 progress: Callable[[int], None] = lambda rows: None) -> Outcome:
    """Write every row of a good batch in one transaction (the caller commits it), or none:
    a row the services refuse now (its reference taken since the check) turns the batch
    INVALID with that row's error, and everything written is rolled back."""
    if batch.status is BatchStatus.VALID:
        move_batch(session, batch, BatchStatus.IMPORTING, actor=ctx.actor, now=ctx.now)
        batch.rows_done = 0
        session.commit()
    elif batch.status is not BatchStatus.IMPORTING:
        return Outcome(batch.rows_total or 0, batch.error_count)  # done already: a repeat
    public_id = batch.public_id
    errors: list[tuple[int, str, str, str]] = []
    created = rows = 0
    try:
        for step in checked_rows(session, batch, ctx, limits,
                                 lambda *error: errors.append(error)):
            rows += len(step)
            if not errors:
                created += write_rows(session, batch, [c for c in step if not c.errors], ctx)
                session.flush()
            progress(rows)
    except FileProblem as exc:
        errors.append((exc.line, exc.column, "", str(exc)))
    except RowRefused as exc:
        errors.append((exc.line, exc.column, exc.value, exc.reason))
    except IntegrityError as exc:  # a concurrent writer took a reference after all
        conflict = f"Another change conflicted with this file: {type(exc.orig).__name__}."
        errors.append((0, "", "", conflict))
    if errors:
        session.rollback()
        return _import_refused(session, public_id, errors, ctx.now)
    batch.created_count, batch.rows_done, batch.imported_at = created, rows, ctx.now
    move_batch(session, batch, BatchStatus.IMPORTED, actor=ctx.actor, now=ctx.now,
               data={"rows": rows, "created": created})
    return Outcome(rows, 0)


def _import_refused(session: Session, public_id: str, errors: list[tuple[int, str, str, str]],
                    now: datetime) -> Outcome:
    batch = session.scalar(select(CsvBatch).where(CsvBatch.public_id == public_id))
    assert batch is not None
    log = ErrorLog(session, batch)
    session.execute(delete(CsvBatchError).where(CsvBatchError.batch_id == batch.id))
    for error in errors:
        log(*error)
    log.flush()
    batch.error_count = log.count
    batch.import_key = None
    move_batch(session, batch, BatchStatus.INVALID, actor="batches", now=now,
               data={"errors": log.count, "phase": "import"})
    return Outcome(batch.rows_total or 0, log.count)


def give_up(session: Session, public_id: str, *, now: datetime) -> None:
    """A batch whose job failed for good: INVALID with the reason, nothing imported (an import's
    transaction rolled back with the failure)."""
    batch = batch_by_id(session, public_id)
    if batch is None or batch.status not in (BatchStatus.UPLOADED, BatchStatus.CHECKING,
                                             BatchStatus.VALID, BatchStatus.IMPORTING):
        return
    batch.file_error = ("The batch could not be processed; nothing was imported. Upload the "
                        "file again, or ask the portal's operator (the worker's log says why).")
    batch.import_key = None
    move_batch(session, batch, BatchStatus.INVALID, actor="batches", now=now,
               data={"phase": "failed"})


# -- Reading the outcome ------------------------------------------------------------------------

def batch_errors(session: Session, batch: CsvBatch, limit: int | None = None
                 ) -> Iterator[CsvBatchError]:
    query = select(CsvBatchError).where(CsvBatchError.batch_id == batch.id).order_by(
        CsvBatchError.line, CsvBatchError.id)
    if limit is not None:
        query = query.limit(limit)
    return iter(session.scalars(query.execution_options(yield_per=1000)))


def error_rows(session: Session, batch_id: int) -> Iterator[tuple[int, str, str, str]]:
    """(line, column, value, reason) of every bad cell, in file order, a thousand at a time."""
    for error in session.scalars(select(CsvBatchError)
                                 .where(CsvBatchError.batch_id == batch_id)
                                 .order_by(CsvBatchError.line, CsvBatchError.id)
                                 .execution_options(yield_per=1000)):
        yield error.line, error.column, error.value, error.reason


def bad_rows(session: Session, batch: CsvBatch) -> int:
    return session.scalar(select(func.count(func.distinct(CsvBatchError.line))).where(
        CsvBatchError.batch_id == batch.id)) or 0


def imported_history(session: Session, mandate_id: int) -> ImportedMandate | None:
    return session.scalar(select(ImportedMandate).where(ImportedMandate.mandate_id == mandate_id))


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def set_progress(session: Session, batch_id: int, rows: int) -> None:
    """Rows done, through a connection of its own (the import's transaction is still open)."""
    session.execute(update(CsvBatch).where(CsvBatch.id == batch_id).values(rows_done=rows))


__all__ = ["AlreadyImported", "Row", "UploadRefused", "check_batch", "import_batch",
           "store_upload"]
