"""Moving every encrypted value to the current data key, so an old key can be removed.

Encrypted columns declare themselves with ``info=portal.crypto.encrypted(...)``; nothing else
needs to list them. Values are re-encrypted in batches by primary key, each batch in its own
short transaction, and each row with a compare-and-set on its old ciphertext: a row the portal
changed meanwhile is left alone (the portal wrote it under the current key). A killed run loses
at most its open batch; the next run skips what is done, because done means "the ciphertext
names the current key".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Column, CursorResult, MetaData, Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import DecryptionError, FieldCipher

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of ciphertexts, the associated data they were made with, and its hash column."""

    table: Table
    column: Column
    context: str
    lookup_hash: Column | None = None

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def encrypted_columns(metadata: MetaData | None = None) -> list[EncryptedColumn]:
    """Every column marked with :func:`portal.crypto.encrypted`, in table order."""
    if metadata is None:
        from portal.models import Base

        metadata = Base.metadata
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if context := column.info.get("encrypted"):
                hash_name = column.info.get("lookup_hash")
                found.append(EncryptedColumn(table, column, context,
                                             table.columns[hash_name] if hash_name else None))
    return found


def _primary_key(target: EncryptedColumn) -> Column:
    [key] = target.table.primary_key.columns
    return key


def _stale(target: EncryptedColumn, cipher: FieldCipher):
    """Condition: a value that does not name the current key yet."""
    return target.column.is_not(None) & ~target.column.startswith(cipher.prefix(),
                                                                   autoescape=True)


def pending(session: Session, target: EncryptedColumn, cipher: FieldCipher) -> int:
    """How many values of the column are not under the current key."""
    return session.scalar(select(func.count()).select_from(target.table)
                          .where(_stale(target, cipher))) or 0


def key_usage(session: Session, target: EncryptedColumn) -> dict[str, int]:
    """How many values each key id holds (``v1.<key id>.…``), for ``keys status``."""
    key_id = func.substr(target.column, 4, 8)
    rows = session.execute(select(key_id, func.count()).select_from(target.table)
                           .where(target.column.is_not(None)).group_by(key_id)).all()
    return {str(kid): count for kid, count in rows}


@dataclass
class BatchResult:
    #: The last primary key looked at (where the next batch starts), None when nothing was left.
    last_id: int | None
    reencrypted: int = 0
    #: Changed by the portal between our read and our write (already under the current key).
    skipped: int = 0
    #: Primary keys whose value none of the configured keys can decrypt.
    undecryptable: list[int] = field(default_factory=list)


def reencrypt_batch(session: Session, target: EncryptedColumn, cipher: FieldCipher, *,
                    after_id: int, batch_size: int) -> BatchResult:
    """Re-encrypt up to ``batch_size`` stale values with primary key above ``after_id`` (and
    recompute their lookup hash) in the caller's transaction."""
    key = _primary_key(target)
    rows = session.execute(select(key, target.column)
                           .where(key > after_id, _stale(target, cipher))
                           .order_by(key).limit(batch_size)).all()
    if not rows:
        return BatchResult(last_id=None)
    result = BatchResult(last_id=rows[-1][0])
    for row_id, old in rows:
        try:
            plaintext = cipher.decrypt(old, target.context)
        except DecryptionError:
            result.undecryptable.append(row_id)
            continue
        values = {target.column.name: cipher.encrypt(plaintext, target.context)}
        if target.lookup_hash is not None:
            values[target.lookup_hash.name] = cipher.lookup_hash(plaintext)
        written = cast(CursorResult, session.execute(
            update(target.table).where(key == row_id, target.column == old).values(values)))
        changed = written.rowcount
        if changed == 1:
            result.reencrypted += 1
        else:
            result.skipped += 1
    return result


@dataclass
class ColumnReport:
    name: str
    total: int
    reencrypted: int = 0
    skipped: int = 0
    undecryptable: list[int] = field(default_factory=list)
    #: Stale values found after the run (written meanwhile by a process on an older key).
    remaining: int = 0


Progress = Callable[[ColumnReport], None]


def reencrypt_all(factory: sessionmaker[Session], cipher: FieldCipher, *,
                  batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress | None = None,
                  pause: Callable[[], None] | None = None,
                  columns: list[EncryptedColumn] | None = None) -> list[ColumnReport]:
    """Re-encrypt every encrypted column, one committed batch at a time; ``progress`` is told
    after each commit and ``pause`` runs between batches (to leave the database to the
    portal), not after a column's last one."""
    reports = []
    for target in columns if columns is not None else encrypted_columns():
        with factory() as session:
            report = ColumnReport(target.name, total=pending(session, target, cipher))
        after_id = 0
        while True:
            with factory() as session:
                batch = reencrypt_batch(session, target, cipher, after_id=after_id,
                                        batch_size=batch_size)
                session.commit()
            if batch.last_id is None:
                break
            after_id = batch.last_id
            report.reencrypted += batch.reencrypted
            report.skipped += batch.skipped
            report.undecryptable += batch.undecryptable
            if progress is not None:
                progress(report)
            looked = batch.reencrypted + batch.skipped + len(batch.undecryptable)
            if pause is not None and looked == batch_size:  # a short batch was the last one
                pause()
        with factory() as session:
            report.remaining = pending(session, target, cipher)
        reports.append(report)
    return reports


def usage(factory: sessionmaker[Session],
          columns: list[EncryptedColumn] | None = None) -> dict[str, Counter[str]]:
    """Per column, how many values each key id holds."""
    with factory() as session:
        return {target.name: Counter(key_usage(session, target))
                for target in (columns if columns is not None else encrypted_columns())}
