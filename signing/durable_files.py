"""Crash-safe creation of files that must never be overwritten (sealed PDFs, keys)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_file_durably(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to the new file `path`, or raise FileExistsError and leave it alone.

    A temporary file in the same directory is written and fsynced, then hard-linked into
    place (linking never replaces an existing file), and the directory is fsynced, so a
    crash leaves either no file or the complete file, never a partial one.
    """
    directory = path.parent
    _make_directories_durably(directory)
    temporary = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _make_directories_durably(directory: Path) -> None:
    if directory.is_dir():
        return
    _make_directories_durably(directory.parent)
    try:
        directory.mkdir()
    except FileExistsError:
        return
    fsync_directory(directory.parent)
