"""Render, seal, store and verify SEPA mandate PDFs; framework-free, plain data in, bytes out."""

from .archive import (
    ArchiveRenewalError,
    ArchiveTimestamp,
    add_archive_timestamp,
    archive_timestamps,
    renew_by,
)
from .attachments import Attachment, AttachmentError
from .document import Branding, Creditor, Debtor, Evidence, MandateDocument
from .pipeline import SignedMandate, produce_signed_mandate
from .pki import DevelopmentCa, DevelopmentPki, load_or_create_development_pki
from .render import render_mandate_html, render_mandate_pdf
from .revocation import DevelopmentRevocation
from .seal import (
    Sealer,
    SealingKey,
    create_development_key,
    load_or_create_sealing_key,
    load_sealing_key,
    seal_pdf,
)
from .storage import (
    FileSystemPdfStore,
    PdfNotFound,
    PdfStore,
    StoredPdf,
    StoredPdfCorrupted,
)
from .texts import MANDATE_TEXT_VERSION, mandate_text
from .timestamps import (
    LocalTimestampAuthority,
    TsaSettings,
    UntrustedTimestampAuthority,
    http_timestamper,
    probe_timestamp_authority,
)
from .trust import SealTrust, load_pem_certificates
from .verify import VerificationReport, verify

__all__ = [
    "MANDATE_TEXT_VERSION",
    "ArchiveRenewalError",
    "ArchiveTimestamp",
    "Attachment",
    "AttachmentError",
    "Branding",
    "Creditor",
    "Debtor",
    "DevelopmentCa",
    "DevelopmentPki",
    "DevelopmentRevocation",
    "Evidence",
    "FileSystemPdfStore",
    "LocalTimestampAuthority",
    "MandateDocument",
    "PdfNotFound",
    "PdfStore",
    "SealTrust",
    "Sealer",
    "SealingKey",
    "SignedMandate",
    "StoredPdf",
    "StoredPdfCorrupted",
    "TsaSettings",
    "UntrustedTimestampAuthority",
    "VerificationReport",
    "add_archive_timestamp",
    "archive_timestamps",
    "create_development_key",
    "http_timestamper",
    "load_or_create_development_pki",
    "load_or_create_sealing_key",
    "load_pem_certificates",
    "load_sealing_key",
    "mandate_text",
    "probe_timestamp_authority",
    "produce_signed_mandate",
    "render_mandate_html",
    "render_mandate_pdf",
    "renew_by",
    "seal_pdf",
    "verify",
]
