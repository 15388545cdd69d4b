"""Where exported pain.008 files and imported bank reports are kept: content-addressed files
written in full before they get their name, so a name always means exactly those bytes."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def fsync_directory(directory: Path) -> None:
    """Make a new name in ``directory`` durable (as ``signing.durable_files`` does; kept here
    so the exporter does not load the PDF stack)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class StoredFileMissing(LookupError):
    """No stored file has this digest."""


class HashingWriter:
    """A binary file wrapper that hashes and counts what passes through ``write``."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class CollectionFileStore:
    """Files at ``root/ab/cd/<sha256>``; never overwritten, never half-written."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def temporary(self) -> Path:
        """A fresh path inside the store's volume to write a file to before keeping it."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f".incoming-{secrets.token_hex(8)}.tmp"

    def keep(self, temporary: Path, sha256: str) -> Path:
        """Give a completely written temporary file its content name (fsynced); an existing
        file of that name already holds the same bytes, so the temporary one is dropped."""
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
        fsync_directory(target.parent)
        return target

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise StoredFileMissing(sha256) from None

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The file's bytes in chunks, for a streamed download."""
        with self.open(sha256) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
