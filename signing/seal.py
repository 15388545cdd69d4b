"""Seal a rendered mandate: embed the signing evidence, then apply a PAdES signature.

The evidence and the signature are written in one incremental update, so the seal
covers the evidence, and the original PDF stays byte-for-byte intact as revision 0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    NoEncryption,
    pkcs12,
)
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from ._async import run_sync
from .document import Evidence
from .durable_files import create_file_durably

SEAL_FIELD_NAME = "MandateSeal"
EVIDENCE_FILE_NAME = "evidence.json"
EVIDENCE_MIME_TYPE = "application/json"
DEVELOPMENT_COMMON_NAME = "Mandate Portal DEVELOPMENT self-signed seal"
DEVELOPMENT_KEY_VALIDITY = timedelta(days=3652)
# Room for a B-B CMS blob with one certificate; avoids pyHanko's dummy pre-signature.
_SIGNATURE_BYTES_RESERVED = 16 * 1024


@dataclass(frozen=True)
class SealingKey:
    """The portal's sealing credential: a pyHanko signer and its certificate."""

    signer: signers.SimpleSigner
    certificate: x509.Certificate

    @property
    def certificate_der(self) -> bytes:
        certificate = self.signer.signing_cert
        if certificate is None:
            raise ValueError("the sealing key has no certificate")
        return certificate.dump()


def load_sealing_key(pkcs12_path: Path, passphrase: bytes | None) -> SealingKey:
    data = Path(pkcs12_path).read_bytes()
    signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
    if signer is None:  # older pyHanko versions return None instead of raising
        raise ValueError(f"could not load the sealing key from {pkcs12_path}")
    certificate = x509.load_der_x509_certificate(signer.signing_cert.dump())
    return SealingKey(signer=signer, certificate=certificate)


def create_development_key(
    pkcs12_path: Path,
    common_name: str = DEVELOPMENT_COMMON_NAME,
    *,
    passphrase: bytes | None = None,
) -> SealingKey:
    """Generate a self-signed EC P-256 seal for development; never overwrites a key file."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + DEVELOPMENT_KEY_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # a.k.a. nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
        .sign(private_key, hashes.SHA256())
    )
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    data = pkcs12.serialize_key_and_certificates(
        common_name.encode("utf-8"), private_key, certificate, None, encryption
    )
    create_file_durably(Path(pkcs12_path), data, mode=0o600)
    return load_sealing_key(pkcs12_path, passphrase)


def load_or_create_sealing_key(
    path: Path, passphrase: bytes | None, allow_generate: bool
) -> SealingKey:
    """Load the seal; generate a development one only when explicitly allowed."""
    path = Path(path)
    if not path.exists():
        if not allow_generate:
            raise FileNotFoundError(
                f"sealing key {path} does not exist and generating one is not allowed"
            )
        try:
            return create_development_key(path, passphrase=passphrase)
        except FileExistsError:
            pass  # another process created it first; use theirs
    return load_sealing_key(path, passphrase)


def seal_pdf(
    pdf: bytes,
    evidence: Evidence,
    key: SealingKey,
    *,
    reason: str = "Sealed SEPA direct debit mandate with signing evidence",
    location: str = "Mandate portal",
) -> bytes:
    """Embed evidence.json (naming the SHA-256 of `pdf`) and seal both with PAdES-B-B."""
    evidence_json = evidence.to_json(hashlib.sha256(pdf).hexdigest())
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    embed_file(
        writer,
        FileSpec(
            file_spec_string=EVIDENCE_FILE_NAME,
            file_name=EVIDENCE_FILE_NAME,
            embedded_data=EmbeddedFileObject.from_file_data(
                writer,
                evidence_json,
                compress=False,  # readable with any text tool, next to the PDF's own bytes
                mime_type=EVIDENCE_MIME_TYPE,
                params=EmbeddedFileParams(
                    creation_date=evidence.signed_at, modification_date=evidence.signed_at
                ),
            ),
            description="Evidence of how and when this mandate was signed",
        ),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    pdf_signer = signers.PdfSigner(metadata, signer=key.signer)
    output = run_sync(
        lambda: pdf_signer.async_sign_pdf(writer, bytes_reserved=_SIGNATURE_BYTES_RESERVED)
    )
    return output.getvalue()
