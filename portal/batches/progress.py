"""How far an import has written, told while its one transaction is still open (so nothing of
the rows shows before they all commit, but the count does).

- PostgreSQL: a connection of its own, in autocommit, sets the batch's ``rows_done`` (and keeps
  the job's lease): readers see it at once, and the import rolling back leaves only a count.
- SQLite has one writer: the import holds the write lock until it commits, so no connection
  can commit a count meanwhile. The count goes to a small file beside the database (the way
  SQLite keeps its ``-wal`` there), replaced whole at each step and removed at the end; any
  process that opens the database can read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, update
from sqlalchemy.orm import Session

from portal.batches.models import BatchStatus, CsvBatch


class ImportProgress(Protocol):
    """Told the rows written so far after each step; closed when the import ends."""

    def __call__(self, rows: int) -> None: ...

    def close(self) -> None: ...


class CommittedProgress:
    """PostgreSQL: ``rows_done`` committed through an autocommit connection of its own."""

    def __init__(self, engine: Engine, batch_id: int,
                 keep_lease: Callable[[Connection], None] | None = None) -> None:
        self.engine, self.batch_id, self.keep_lease = engine, batch_id, keep_lease

    def __call__(self, rows: int) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as side:
            side.execute(update(CsvBatch).where(CsvBatch.id == self.batch_id)
                         .values(rows_done=rows))
            if self.keep_lease is not None:
                self.keep_lease(side)

    def close(self) -> None:
        pass


class FileProgress:
    """SQLite: the count in a file beside the database, replaced atomically at each step."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, rows: int) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        # Readable by the database's owner only, like the database beside it.
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                       "w") as out:
            out.write(str(rows))
        os.replace(partial, self.path)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class NoProgress:
    """An SQLite database in memory: one process, nobody else to tell."""

    def __call__(self, rows: int) -> None:
        pass

    def close(self) -> None:
        pass


def progress_file(engine: Engine, public_id: str) -> Path | None:
    """Where an SQLite database's import of this batch tells its count (None: not a file)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    return path.with_name(f"{path.name}-import-{public_id}")


def import_progress(session: Session, batch: CsvBatch,
                    keep_lease: Callable[[Connection], None] | None = None) -> ImportProgress:
    """Where this database lets an import tell its progress (``keep_lease``: also run on the
    side connection, PostgreSQL only: SQLite's write lock is the import's)."""
    engine = session.get_bind().engine
    if engine.dialect.name == "postgresql":
        return CommittedProgress(engine, batch.id, keep_lease)
    path = progress_file(engine, batch.public_id)
    return FileProgress(path) if path is not None else NoProgress()


def rows_written(session: Session, batch: CsvBatch) -> int:
    """Rows an import has written so far (committed, or told through the file on SQLite)."""
    if batch.status is not BatchStatus.IMPORTING:
        return batch.rows_done
    path = progress_file(session.get_bind().engine, batch.public_id)
    if path is None:
        return batch.rows_done
    try:
        return max(batch.rows_done, int(path.read_text()))
    except (OSError, ValueError):  # not started yet, or between two steps' files
        return batch.rows_done
