"""Seals outlive their certificates: timestamps, embedded validation data, renewed archives.

Each test runs a development PKI whose clock is set in the past: the CA, the seal and the TSA
act at those times (the TSA stamps, the CA signs its CRLs then), and the PDF is verified now,
after the certificates involved have expired. The verifier gets fresh revocation data only
for today, from the CA's own distribution point, as a real validator would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from signing import (
    ArchiveRenewalError,
    DevelopmentCa,
    DevelopmentRevocation,
    LocalTimestampAuthority,
    Sealer,
    SealTrust,
    add_archive_timestamp,
    archive_timestamps,
    create_development_key,
    seal_pdf,
    verify,
)
from signing._async import run_sync
from signing.attachments import embed_associated_files
from signing.seal import SEAL_FIELD_NAME, evidence_attachment

NOW = datetime.now(UTC).replace(microsecond=0)
SEALED_AT = NOW - timedelta(days=400)


class History:
    """A CA that has existed since before SEALED_AT; `at(moment)` acts as of that moment."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = DevelopmentCa.create(SEALED_AT - timedelta(days=1), validity=timedelta(days=3650))
        self.seal_key = create_development_key(
            directory / "seal.p12", ca=self.ca, not_before=SEALED_AT - timedelta(hours=1),
            not_after=SEALED_AT + timedelta(days=30))  # expired a year ago
        self.tsa = self.ca.issue_timestamping(SEALED_AT - timedelta(hours=1),
                                              NOW + timedelta(days=3650))
        self.short_tsa_until = SEALED_AT + timedelta(days=200)  # expired 200 days ago
        self.short_tsa = self.ca.issue_timestamping(SEALED_AT - timedelta(hours=1),
                                                    self.short_tsa_until,
                                                    common_name="DEVELOPMENT TSA, short-lived")

    def trust(self, moment: datetime) -> SealTrust:
        return SealTrust.of([self.ca.certificate],
                            seal_subject=self.seal_key.certificate.subject.rfc4514_string(),
                            revocation=DevelopmentRevocation(self.ca, lambda: moment))

    def sealer(self, moment: datetime, tsa=None) -> Sealer:
        authority = LocalTimestampAuthority(tsa or self.tsa, [self.ca.root], lambda: moment)
        return Sealer(key=self.seal_key, timestamper=authority, trust=self.trust(moment),
                      clock=lambda: moment)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return History(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def sealed_long_ago(history: History, unsealed_pdf, make_document, make_evidence) -> bytes:
    return seal_pdf(unsealed_pdf, make_evidence(make_document()), history.sealer(SEALED_AT))


def _basic_seal(pdf: bytes, evidence, key) -> bytes:
    """A PAdES-B-B seal as the portal made them before: no timestamp, no validation data."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    embed_associated_files(writer, [evidence_attachment(evidence, pdf)], when=evidence.signed_at)
    meta = signers.PdfSignatureMetadata(field_name=SEAL_FIELD_NAME, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    signer = signers.PdfSigner(meta, signer=key.signer)
    return run_sync(lambda: signer.async_sign_pdf(writer)).getvalue()


def test_a_seal_stays_valid_after_its_certificate_has_expired(history, sealed_long_ago):
    assert history.seal_key.certificate.not_valid_after_utc < NOW - timedelta(days=300)
    report = verify(sealed_long_ago, history.trust(NOW))
    assert report.ok, report.reasons
    assert report.signed_at == SEALED_AT  # proven by the timestamp, not claimed by the signer
    assert report.level == "B-LTA"


def test_a_basic_seal_of_the_same_age_is_untrusted_once_its_certificate_expired(
        history, unsealed_pdf, make_document, make_evidence):
    """What `mandate verify` said of every seal before: B-B dies with its certificate."""
    basic = _basic_seal(unsealed_pdf, make_evidence(make_document()), history.seal_key)
    report = verify(basic, history.trust(NOW))
    assert report.signature_intact and not report.signed_by_portal and not report.ok
    assert report.level == "B-B"


def test_the_archive_timestamp_must_be_renewed_before_the_tsa_certificate_expires(
        history, unsealed_pdf, make_document, make_evidence):
    # Sealed with a TSA whose certificate has expired since, and never renewed: fails now.
    sealed = seal_pdf(unsealed_pdf, make_evidence(make_document()),
                      history.sealer(SEALED_AT, tsa=history.short_tsa))
    stale = verify(sealed, history.trust(NOW))
    assert not stale.ok and stale.signature_intact and not stale.signed_by_portal
    assert stale.renew_by == history.short_tsa_until < NOW

    # Renewed while that certificate was still good, by a TSA with a newer certificate: passes.
    renewed_at = SEALED_AT + timedelta(days=100)
    newer_tsa = history.ca.issue_timestamping(renewed_at - timedelta(hours=1),
                                              NOW + timedelta(days=3650),
                                              common_name="DEVELOPMENT TSA 2")
    renewed = add_archive_timestamp(sealed, history.sealer(renewed_at, tsa=newer_tsa))
    assert renewed.startswith(sealed)  # an incremental update: the old bytes stay as they were
    report = verify(renewed, history.trust(NOW))
    assert report.ok, report.reasons
    assert [stamp.at for stamp in report.archive_timestamps] == [SEALED_AT, renewed_at]
    assert report.renew_by == newer_tsa.certificate.not_valid_after_utc
    assert report.signed_at == SEALED_AT


def test_renewing_after_the_tsa_certificate_expired_is_refused(
        history, unsealed_pdf, make_document, make_evidence):
    sealed = seal_pdf(unsealed_pdf, make_evidence(make_document()),
                      history.sealer(SEALED_AT, tsa=history.short_tsa))
    too_late = history.short_tsa_until + timedelta(days=50)
    newer_tsa = history.ca.issue_timestamping(too_late, NOW + timedelta(days=3650))
    with pytest.raises(ArchiveRenewalError, match="not renewed"):
        add_archive_timestamp(sealed, history.sealer(too_late, tsa=newer_tsa))


def test_renewing_with_a_tsa_certificate_that_expires_no_later_is_refused(
        history, sealed_long_ago):
    """The same TSA certificate again would extend nothing; say so instead of rewriting."""
    with pytest.raises(ArchiveRenewalError, match="would not help"):
        add_archive_timestamp(sealed_long_ago, history.sealer(SEALED_AT + timedelta(days=10)))


def test_a_basic_seal_is_upgraded_to_long_term_while_its_certificate_is_valid(
        pki, sealing_key, sealer, trust, unsealed_pdf, make_document, make_evidence):
    basic = _basic_seal(unsealed_pdf, make_evidence(make_document()), sealing_key)
    assert archive_timestamps(basic) == []
    upgraded = add_archive_timestamp(basic, sealer)
    report = verify(upgraded, trust)
    assert report.ok, report.reasons
    assert report.level == "B-LTA"
    assert [stamp.field_name for stamp in report.archive_timestamps] == ["ArchiveTimestamp1"]


def test_a_basic_seal_made_before_timestamps_still_verifies_while_its_certificate_is_valid(
        sealing_key, trust, unsealed_pdf, make_document, make_evidence):
    """PDFs stored before this change (PAdES-B-B) keep verifying as they did."""
    report = verify(_basic_seal(unsealed_pdf, make_evidence(make_document()), sealing_key), trust)
    assert report.ok, report.reasons
    assert report.level == "B-B" and report.archive_timestamps == []


def test_a_self_signed_development_seal_from_before_the_development_ca_still_seals_long_term(
        foreign_sealer, unsealed_pdf, make_document, make_evidence):
    """An instance/seal.p12 made self-signed by an earlier version is its own trust anchor."""
    sealed = seal_pdf(unsealed_pdf, make_evidence(make_document()), foreign_sealer)
    report = verify(sealed, foreign_sealer.trust)
    assert report.ok, report.reasons
    assert report.level == "B-LTA"
