import hashlib
import os
import stat

import pytest

from signing import FileSystemPdfStore, PdfNotFound, StoredPdfCorrupted

PDF = b"%PDF-1.7\n% a sealed mandate\n%%EOF\n"
DIGEST = hashlib.sha256(PDF).hexdigest()


def _all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_stores_content_addressed_and_get_returns_it(tmp_path):
    store = FileSystemPdfStore(tmp_path)
    stored = store.put(PDF)
    assert stored.sha256 == DIGEST and stored.size == len(PDF)
    assert stored.key == f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.pdf"
    assert _all_files(tmp_path) == [stored.key]
    assert store.get(DIGEST) == PDF
    assert store.exists(DIGEST)
    assert stat.S_IMODE((tmp_path / stored.key).stat().st_mode) == 0o600


def test_putting_the_same_content_twice_keeps_one_file(tmp_path):
    store = FileSystemPdfStore(tmp_path)
    assert store.put(PDF) == store.put(PDF)
    assert len(_all_files(tmp_path)) == 1


def test_failed_write_leaves_no_file_and_a_retry_stores_exactly_one(tmp_path, monkeypatch):
    store = FileSystemPdfStore(tmp_path)
    real_fsync = os.fsync

    def disk_failure(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_failure)
    with pytest.raises(OSError, match="disk full"):
        store.put(PDF)
    assert _all_files(tmp_path) == []
    assert not store.exists(DIGEST)

    monkeypatch.setattr(os, "fsync", real_fsync)
    stored = store.put(PDF)
    assert _all_files(tmp_path) == [stored.key]


def test_failure_while_linking_into_place_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = FileSystemPdfStore(tmp_path)

    def crash(*args):
        raise OSError("crash during link")

    monkeypatch.setattr(os, "link", crash)
    with pytest.raises(OSError, match="crash during link"):
        store.put(PDF)
    assert _all_files(tmp_path) == []


def test_get_detects_a_corrupted_file(tmp_path):
    store = FileSystemPdfStore(tmp_path)
    path = tmp_path / store.put(PDF).key
    path.write_bytes(PDF.replace(b"sealed", b"sea1ed"))
    with pytest.raises(StoredPdfCorrupted, match="corrupted"):
        store.get(DIGEST)


def test_put_never_overwrites_an_existing_file_even_a_corrupted_one(tmp_path):
    store = FileSystemPdfStore(tmp_path)
    path = tmp_path / store.put(PDF).key
    path.write_bytes(b"damaged")
    with pytest.raises(StoredPdfCorrupted):
        store.put(PDF)
    assert path.read_bytes() == b"damaged"


def test_get_of_unknown_digest_raises_not_found(tmp_path):
    store = FileSystemPdfStore(tmp_path)
    with pytest.raises(PdfNotFound):
        store.get("0" * 64)
    assert not store.exists("0" * 64)


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, DIGEST + "/..", "", DIGEST[:-1]])
def test_only_sha256_hex_names_are_accepted(tmp_path, name):
    store = FileSystemPdfStore(tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        store.get(name)
    with pytest.raises(ValueError, match="SHA-256"):
        store.exists(name)
