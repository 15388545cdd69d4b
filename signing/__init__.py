"""Render, seal, store and verify SEPA mandate PDFs; framework-free, plain data in, bytes out."""

from .document import Branding, Creditor, Debtor, Evidence, MandateDocument
from .pipeline import SignedMandate, produce_signed_mandate
from .render import render_mandate_html, render_mandate_pdf
from .seal import (
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
from .verify import VerificationReport, verify

__all__ = [
    "MANDATE_TEXT_VERSION",
    "Branding",
    "Creditor",
    "Debtor",
    "Evidence",
    "FileSystemPdfStore",
    "MandateDocument",
    "PdfNotFound",
    "PdfStore",
    "SealingKey",
    "SignedMandate",
    "StoredPdf",
    "StoredPdfCorrupted",
    "VerificationReport",
    "create_development_key",
    "load_or_create_sealing_key",
    "load_sealing_key",
    "mandate_text",
    "produce_signed_mandate",
    "render_mandate_html",
    "render_mandate_pdf",
    "seal_pdf",
    "verify",
]
