import hashlib
import os
from datetime import timedelta

import pytest
from pyhanko.sign.signers.pdf_signer import PdfSigningSession

from signing import (
    FileSystemPdfStore,
    LocalTimestampAuthority,
    Sealer,
    pipeline,
    produce_signed_mandate,
    renew_by,
    verify,
)


def _stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_produces_a_stored_sealed_mandate_that_verifies(
    tmp_path, sealer, make_document, make_evidence, make_branding
):
    doc = make_document()
    store = FileSystemPdfStore(tmp_path)
    signed = produce_signed_mandate(doc, make_branding(), make_evidence(doc), sealer, store)

    assert signed.sha256 == hashlib.sha256(signed.pdf).hexdigest()
    assert signed.size == len(signed.pdf)
    assert store.get(signed.sha256) == signed.pdf
    assert len(_stored_files(tmp_path)) == 1
    report = verify(signed.pdf, sealer.trust)
    assert report.ok, report.reasons
    assert signed.evidence_json in signed.pdf  # embedded uncompressed, byte for byte


def test_the_renewal_date_is_the_archive_timestamps_as_the_sealed_pdf_says(
    tmp_path, sealer, make_document, make_evidence, make_branding
):
    doc = make_document()
    signed = produce_signed_mandate(doc, make_branding(), make_evidence(doc), sealer,
                                    FileSystemPdfStore(tmp_path))

    assert signed.renew_by is not None
    assert signed.renew_by == renew_by(signed.pdf)  # taken from the token, not parsed again


def test_the_signature_space_is_estimated_once_per_key_and_tsa(
    tmp_path, pki, sealer, make_document, make_evidence, make_branding, monkeypatch
):
    estimates = []
    real = PdfSigningSession.estimate_signature_container_size

    async def counted(self, *args, **kwargs):
        estimates.append(await real(self, *args, **kwargs))
        return estimates[-1]

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counted)
    # A TSA of its own: the session's sealer may have estimated already.
    fresh = Sealer(key=sealer.key, timestamper=LocalTimestampAuthority(
        pki.timestamping, [pki.ca.root]), trust=sealer.trust)
    doc, store = make_document(), FileSystemPdfStore(tmp_path)
    first = produce_signed_mandate(doc, make_branding(), make_evidence(doc), fresh, store)
    other = make_document(reference="MDT-2026-000124")
    second = produce_signed_mandate(other, make_branding(), make_evidence(other), fresh, store)

    assert len(estimates) == 1
    for signed in (first, second):
        report = verify(signed.pdf, sealer.trust)
        assert report.ok, report.reasons


def test_seal_failure_after_rendering_stores_nothing(
    tmp_path, sealer, make_document, make_evidence, make_branding, monkeypatch
):
    def broken_seal(*args, **kwargs):
        raise RuntimeError("HSM unavailable")

    monkeypatch.setattr(pipeline, "seal_mandate", broken_seal)
    doc = make_document()
    with pytest.raises(RuntimeError, match="HSM"):
        produce_signed_mandate(
            doc, make_branding(), make_evidence(doc), sealer, FileSystemPdfStore(tmp_path)
        )
    assert _stored_files(tmp_path) == []


def test_store_failure_leaves_no_partial_file_and_retry_stores_one(
    tmp_path, sealer, make_document, make_evidence, make_branding, monkeypatch
):
    doc, store = make_document(), FileSystemPdfStore(tmp_path)
    real_fsync = os.fsync

    def disk_failure(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", disk_failure)
    with pytest.raises(OSError):
        produce_signed_mandate(doc, make_branding(), make_evidence(doc), sealer, store)
    assert _stored_files(tmp_path) == []

    monkeypatch.setattr(os, "fsync", real_fsync)
    signed = produce_signed_mandate(doc, make_branding(), make_evidence(doc), sealer, store)
    assert _stored_files(tmp_path) == [
        tmp_path / f"{signed.sha256[:2]}/{signed.sha256[2:4]}/{signed.sha256}.pdf"
    ]


@pytest.mark.parametrize(
    "mismatch",
    [
        {"locale": "en"},
        {"text_version": "1999-01-1"},
        {"signed_at_shift": timedelta(seconds=1)},
    ],
)
def test_evidence_that_does_not_describe_the_document_is_refused(
    tmp_path, sealer, make_document, make_evidence, make_branding, mismatch
):
    doc = make_document()
    shift = mismatch.pop("signed_at_shift", None)
    if shift:
        mismatch["signed_at"] = doc.signed_at + shift
    with pytest.raises(ValueError, match="evidence does not match"):
        produce_signed_mandate(
            doc,
            make_branding(),
            make_evidence(doc, **mismatch),
            sealer,
            FileSystemPdfStore(tmp_path),
        )
    assert _stored_files(tmp_path) == []
