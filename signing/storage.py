"""Content-addressed storage of sealed PDFs: written once, verified on every read."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .durable_files import create_file_durably

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StoredPdf:
    sha256: str
    key: str
    size: int


class PdfNotFound(LookupError):
    """No PDF with that SHA-256 is stored."""


class StoredPdfCorrupted(RuntimeError):
    """A stored PDF no longer hashes to its own name."""


class PdfStore(Protocol):
    def put(self, data: bytes) -> StoredPdf: ...

    def get(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...


class FileSystemPdfStore:
    """Stores each PDF at `root/ab/cd/<sha256>.pdf`; never overwrites, never half-writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> StoredPdf:
        digest = hashlib.sha256(data).hexdigest()
        stored = StoredPdf(sha256=digest, key=storage_key(digest), size=len(data))
        path = self.root / stored.key
        try:
            create_file_durably(path, data, mode=0o600)
        except FileExistsError:
            self.get(digest)  # same name means same content, unless the file is corrupted
        return stored

    def get(self, sha256: str) -> bytes:
        path = self.root / storage_key(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PdfNotFound(f"no stored PDF with sha256 {sha256}") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise StoredPdfCorrupted(
                f"stored PDF {path} is corrupted: expected sha256 {sha256}, found {actual}"
            )
        return data

    def exists(self, sha256: str) -> bool:
        return (self.root / storage_key(sha256)).is_file()


def storage_key(sha256: str) -> str:
    """'ab/cd/abcd….pdf'; refuses anything but a lowercase hex SHA-256 (no path tricks)."""
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.pdf"
