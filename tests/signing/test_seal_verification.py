import hashlib
import json
import os
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers

from signing import Evidence, SealTrust, seal_pdf, verify
from signing.verify import CHANGED_AFTER_SEALING, MODIFIED, NOT_THE_PORTAL, UNKNOWN_SIGNER

EVIDENCE_MISMATCH = "evidence document_sha256 does not match the signed document"


def _signed_ranges(pdf: bytes) -> list[range]:
    start1, length1, start2, length2 = PdfFileReader(BytesIO(pdf)).embedded_signatures[0].byte_range
    return [range(start1, start1 + length1), range(start2, start2 + length2)]


def _flip(pdf: bytes, position: int) -> bytes:
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


def test_fresh_seal_verifies(sealed_pdf, trust, unsealed_pdf):
    report = verify(sealed_pdf, trust)
    assert report.ok, report.reasons
    assert report.reasons == []
    assert report.signature_intact and report.signed_by_portal and report.evidence_matches
    assert report.signer_subject == "CN=Mandate Portal DEVELOPMENT seal"
    assert report.signed_at is not None and report.signed_at.tzinfo is not None
    assert report.level == "B-LTA"
    assert [stamp.field_name for stamp in report.archive_timestamps] == ["ArchiveTimestamp1"]
    assert report.renew_by == report.archive_timestamps[0].tsa_valid_until
    assert report.evidence["document_sha256"] == hashlib.sha256(unsealed_pdf).hexdigest()
    assert report.evidence["ip"] == "203.0.113.9"


def test_the_ca_certificate_alone_may_be_given_as_der_bytes(sealed_pdf, pki):
    report = verify(sealed_pdf, pki.ca.root.certificate_der)
    assert report.ok, report.reasons


def test_a_certificate_of_the_trusted_ca_that_is_not_the_portals_is_refused(
        sealed_pdf, trust, pki):
    other = SealTrust.of(trust.roots, seal_subject="CN=Another company seal",
                         revocation=trust.revocation)
    report = verify(sealed_pdf, other)
    assert not report.ok and report.signature_intact and not report.signed_by_portal
    assert NOT_THE_PORTAL in report.reasons


def test_without_trusted_certificate_the_signer_is_not_confirmed(sealed_pdf):
    report = verify(sealed_pdf)
    assert not report.ok and report.signature_intact and not report.signed_by_portal
    assert any("no trusted portal certificate" in reason for reason in report.reasons)


def test_flipping_a_byte_in_the_unsealed_content_is_detected(sealed_pdf, trust):
    position = sealed_pdf.index(b"WeasyPrint")  # the /Producer string of revision 0
    report = verify(_flip(sealed_pdf, position), trust)
    assert not report.ok and not report.signature_intact
    assert MODIFIED in report.reasons


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flipping_any_signed_byte_fails_verification_without_raising(data, sealed_pdf, trust):
    signed_range = data.draw(st.sampled_from(_signed_ranges(sealed_pdf)))
    position = data.draw(st.sampled_from(signed_range))
    report = verify(_flip(sealed_pdf, position), trust)
    assert not report.ok
    assert report.reasons


def test_byte_patching_the_embedded_evidence_is_detected(sealed_pdf, trust):
    original = b'"ip":"203.0.113.9"'
    assert sealed_pdf.count(original) == 1  # stored uncompressed in the sealed revision
    tampered = sealed_pdf.replace(original, b'"ip":"198.51.100.7"'[: len(original)])
    report = verify(tampered, trust)
    assert not report.ok
    assert MODIFIED in report.reasons


def test_replacing_the_evidence_in_a_later_update_is_detected(sealed_pdf, trust):
    writer = IncrementalPdfFileWriter(BytesIO(sealed_pdf))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    forged = {"document_sha256": "f" * 64, "ip": "198.51.100.7"}
    stream = EmbeddedFileObject.from_file_data(writer, json.dumps(forged).encode(), compress=False)
    spec = FileSpec("evidence.json", file_name="evidence.json", embedded_data=stream)
    names[1] = writer.add_object(spec.as_pdf_object())
    writer.update_container(names)
    out = BytesIO()
    writer.write(out)

    report = verify(out.getvalue(), trust)
    assert not report.ok
    assert CHANGED_AFTER_SEALING in report.reasons
    assert "embedded evidence.json was changed after sealing" in report.reasons
    assert report.evidence["ip"] == "203.0.113.9"  # the sealed evidence, not the forgery


def test_pdf_sealed_by_another_key_is_not_signed_by_portal(
    unsealed_pdf, foreign_sealer, trust, make_document, make_evidence
):
    foreign = seal_pdf(unsealed_pdf, make_evidence(make_document()), foreign_sealer)
    report = verify(foreign, trust)
    assert not report.ok
    assert report.signature_intact and not report.signed_by_portal
    assert UNKNOWN_SIGNER in report.reasons
    assert report.signer_subject == "CN=Someone else"


def test_evidence_naming_another_document_is_detected(
    unsealed_pdf, sealer, trust, make_document, make_evidence, monkeypatch
):
    to_json = Evidence.to_json
    monkeypatch.setattr(Evidence, "to_json", lambda self, _digest: to_json(self, "e" * 64))
    sealed = seal_pdf(unsealed_pdf, make_evidence(make_document()), sealer)
    report = verify(sealed, trust)
    assert not report.ok and report.signature_intact and not report.evidence_matches
    assert EVIDENCE_MISMATCH in report.reasons


def test_seal_without_evidence_is_reported(unsealed_pdf, sealing_key, trust):
    writer = IncrementalPdfFileWriter(BytesIO(unsealed_pdf))
    meta = signers.PdfSignatureMetadata(field_name="MandateSeal")
    sealed = signers.PdfSigner(meta, signer=sealing_key.signer).sign_pdf(writer).getvalue()
    report = verify(sealed, trust)
    assert not report.ok and report.signature_intact
    assert "embedded evidence.json missing" in report.reasons


def test_unsigned_pdf_is_reported(unsealed_pdf, trust):
    report = verify(unsealed_pdf, trust)
    assert not report.ok
    assert report.reasons == ["no signature found in the document"]


@pytest.mark.parametrize(
    "garbage",
    [b"", b"%PDF-1.7\n", os.urandom(4096), b"%PDF-1.7\n" + os.urandom(4096)],
    ids=["empty", "header-only", "random", "pdf-header-then-random"],
)
def test_garbage_is_reported_not_raised(garbage, trust):
    report = verify(garbage, trust)
    assert not report.ok and report.reasons


@settings(max_examples=50, deadline=None)
@given(garbage=st.binary(max_size=2048))
def test_random_bytes_never_raise(garbage, trust):
    report = verify(garbage, trust)
    assert not report.ok and report.reasons


@settings(max_examples=10, deadline=None)
@given(cut=st.integers(min_value=1, max_value=2000))
def test_truncated_seal_is_reported(cut, sealed_pdf, trust):
    truncated = sealed_pdf[:-cut]
    report = verify(truncated, trust)
    if truncated.rstrip(b"\r\n").endswith(b"%%EOF"):
        return  # cut exactly at an earlier revision: a complete earlier version of the file
    assert not report.ok and report.reasons


def test_seal_and_verify_work_inside_a_running_event_loop(unsealed_pdf, sealer, trust,
                                                           make_document, make_evidence):
    """pyHanko's sync wrappers call asyncio.run; ours must not fail under an async caller."""
    import asyncio

    evidence = make_evidence(make_document())

    async def inside_a_loop():
        sealed = seal_pdf(unsealed_pdf, evidence, sealer)
        return verify(sealed, trust)

    report = asyncio.run(inside_a_loop())
    assert report.ok, report.reasons
