"""Render, seal, store and verify SEPA mandate PDFs; framework-free, plain data in, bytes out.

The names below are loaded on first use (PEP 562): rendering pulls in WeasyPrint and sealing
pyHanko, seconds of CPU at start-up that a process serving pages or running a worker mostly
never needs (tests/signing/test_lazy_imports.py)."""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Each public name and the submodule that defines it.
_SUBMODULE = {
    **dict.fromkeys(("ArchiveRenewalError", "ArchiveTimestamp", "add_archive_timestamp",
                     "archive_timestamps", "renew_by"), "archive"),
    **dict.fromkeys(("Attachment", "AttachmentError"), "attachments"),
    **dict.fromkeys(("Branding", "Creditor", "Debtor", "Evidence", "MandateDocument"),
                    "document"),
    **dict.fromkeys(("SignedMandate", "produce_signed_mandate"), "pipeline"),
    **dict.fromkeys(("DevelopmentCa", "DevelopmentPki", "load_or_create_development_pki"),
                    "pki"),
    **dict.fromkeys(("render_mandate_html", "render_mandate_pdf"), "render"),
    "DevelopmentRevocation": "revocation",
    **dict.fromkeys(("Sealer", "SealingKey", "create_development_key",
                     "load_or_create_sealing_key", "load_sealing_key", "seal_pdf"), "seal"),
    **dict.fromkeys(("FileSystemPdfStore", "PdfNotFound", "PdfStore", "StoredPdf",
                     "StoredPdfCorrupted"), "storage"),
    **dict.fromkeys(("MANDATE_TEXT_VERSION", "mandate_text"), "texts"),
    **dict.fromkeys(("LocalTimestampAuthority", "TsaSettings", "UntrustedTimestampAuthority",
                     "http_timestamper", "probe_timestamp_authority"), "timestamps"),
    **dict.fromkeys(("SealTrust", "load_pem_certificates"), "trust"),
    **dict.fromkeys(("VerificationReport", "verify"), "verify"),
}

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


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{submodule}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULE})


class _Package(types.ModuleType):
    """Importing a submodule sets the package's attribute of that name to the module: for
    ``signing.verify`` that would hide the function ``verify``, which the name stays."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _SUBMODULE.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
