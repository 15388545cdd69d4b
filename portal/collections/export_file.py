"""Making one pain.008 file: streamed into the store, validated against its XSD, and only then
kept under its SHA-256. Light on imports (no Flask models), so ``bench/pain008.py`` measures
exactly what an export does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal.collections.files import CollectionFileStore, HashingWriter
from portal.collections.pain008 import Creditor, PaymentGroup, write_pain008
from portal.collections.xsd import InvalidDocument, validate_pain008


@dataclass(frozen=True)
class WrittenFile:
    sha256: str
    size: int
    count: int
    sum_cents: int
    path: Path


def build_pain008_file(store: CollectionFileStore, *, version: str, message_id: str,
                       created_at: datetime, initiating_party: str, creditor: Creditor,
                       groups: list[PaymentGroup]) -> WrittenFile:
    """Stream a pain.008 file to the store, validate it against the XSD, and keep it under its
    SHA-256; raises InvalidDocument (nothing kept) when it does not conform."""
    temporary = store.temporary()
    try:
        with temporary.open("wb") as handle:
            sink = HashingWriter(handle)
            count, cents = write_pain008(sink, version=version, message_id=message_id,
                                         created_at=created_at, initiating_party=initiating_party,
                                         creditor=creditor, groups=groups)
        if validate_pain008(temporary, version) != count:
            raise InvalidDocument("the validated file holds a different number of transactions")
        sha256 = sink.digest.hexdigest()
        path = store.keep(temporary, sha256)
    finally:
        temporary.unlink(missing_ok=True)
    return WrittenFile(sha256=sha256, size=sink.size, count=count, sum_cents=cents, path=path)
