"""Keep a sealed PDF verifiable for decades: renew its archive timestamp (PAdES-B-LTA).

A seal is proven by the timestamps over it, and each timestamp only as long as its TSA
certificate is valid. Before the newest one expires, :func:`add_archive_timestamp` validates
it, stores its certificates and fresh revocation data in the document security store, and
adds a new document timestamp over everything, all as incremental updates. A PDF sealed
before timestamps existed (B-B) gets the seal's own validation data first, which is only
possible while the sealing certificate is still valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import cms
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from ._async import run_sync
from .seal import ARCHIVE_TIMESTAMP_FIELD_PREFIX, Sealer


class ArchiveRenewalError(RuntimeError):
    """The archive timestamp could not be renewed (and the PDF was left as it was)."""


@dataclass(frozen=True)
class ArchiveTimestamp:
    """One document timestamp: when, by whom, and until when its certificate vouches."""

    field_name: str
    at: datetime
    tsa_subject: str
    tsa_valid_until: datetime


def archive_timestamps(pdf: bytes) -> list[ArchiveTimestamp]:
    """The document timestamps in `pdf`, oldest first."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    found = []
    for stamp in reader.embedded_timestamp_signatures:
        signed_data: cms.SignedData = stamp.signed_data
        tst_info = signed_data["encap_content_info"]["content"].parsed
        tsa = x509.load_der_x509_certificate(stamp.signer_cert.dump())
        found.append(ArchiveTimestamp(
            field_name=stamp.field_name, at=tst_info["gen_time"].native,
            tsa_subject=tsa.subject.rfc4514_string(), tsa_valid_until=tsa.not_valid_after_utc))
    return found


def renew_by(pdf: bytes) -> datetime | None:
    """When the newest archive timestamp's certificate expires; ``None`` if there is none."""
    stamps = archive_timestamps(pdf)
    return stamps[-1].tsa_valid_until if stamps else None


def add_archive_timestamp(pdf: bytes, sealer: Sealer) -> bytes:
    """`pdf` with validation data for its newest timestamp and a new document timestamp.

    Refuses (ArchiveRenewalError) when the newest timestamp can no longer be validated, or
    when the TSA's certificate would not outlive the current one, since then the renewal
    would not extend the document's life.
    """
    try:
        renewed, stamps = _renew(pdf, sealer)
    except ArchiveRenewalError:
        raise
    except Exception as error:  # pyHanko raises many kinds; all mean "not renewed"
        raise ArchiveRenewalError(f"archive timestamp not renewed: {_describe(error)}") from error
    new_until = renew_by(renewed)
    if stamps and new_until is not None and new_until <= stamps[-1].tsa_valid_until:
        raise ArchiveRenewalError(
            f"the TSA's certificate ({archive_timestamps(renewed)[-1].tsa_subject}) expires "
            f"{new_until:%Y-%m-%d}, not after the current one; renewing would not help")
    return renewed


def _renew(pdf: bytes, sealer: Sealer) -> tuple[bytes, list[ArchiveTimestamp]]:
    context = sealer.trust.validation_context(sealer.clock())
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    stamps = archive_timestamps(pdf)
    field_name = f"{ARCHIVE_TIMESTAMP_FIELD_PREFIX}{len(stamps) + 1}"
    stamper = PdfTimeStamper(sealer.timestamper, field_name=field_name)
    if stamps:
        newest = reader.embedded_timestamp_signatures[-1]
        status = run_sync(lambda: async_validate_pdf_timestamp(newest, context, skip_diff=True))
        if not (status.intact and status.valid and status.trusted):
            raise ArchiveRenewalError(f"archive timestamp not renewed: the newest one "
                                      f"({newest.field_name}) is no longer valid")
        output = run_sync(lambda: stamper.async_update_archival_timestamp_chain(
            reader, context, in_place=False))
    else:
        output = run_sync(lambda: _upgrade_basic_seal(reader, stamper, context))
    return output.getvalue(), stamps


async def _upgrade_basic_seal(reader: PdfFileReader, stamper: PdfTimeStamper,
                              context: ValidationContext) -> BytesIO:
    """B-B to B-LTA: the seal's validation data in the DSS, then a document timestamp."""
    signatures = reader.embedded_regular_signatures
    if not signatures:
        raise ArchiveRenewalError("the document has no seal to keep verifiable")
    with_dss = await async_add_validation_info(signatures[-1], context, in_place=False)
    with_dss.seek(0)
    writer = IncrementalPdfFileWriter(with_dss, strict=False)
    return await stamper.async_timestamp_pdf(writer, "sha256", context, in_place=False)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
