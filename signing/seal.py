"""Seal a rendered mandate as PAdES-B-LTA: evidence and attachments, signature, timestamps.

One incremental update embeds evidence.json (naming the SHA-256 of the unsealed PDF) and any
extra attachments and signs them with the portal's certificate; the signature carries an
RFC 3161 timestamp. pyHanko then stores the certificates and revocation data of the seal and
the timestamp in the document security store (B-LT) and adds a document timestamp over all of
it (B-LTA). The rendered PDF stays byte-for-byte intact as revision 0, and every update keeps
the PDF 1.7 version that PDF/A-3 requires.

What pyHanko would otherwise redo per seal is kept: the space reserved for the seal's
signature container (estimated from a dry-run signature, which depends only on the key, its
chain and the TSA, so once per key and TSA), the seal's signing-certificate-v2 attribute
(encoded once per key), the TSA's validation paths (once per seal, not twice), and the archive
timestamp's certificate, taken from the token as the TSA grants it instead of parsing the
sealed PDF again.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from io import BytesIO
from pathlib import Path

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_PRODUCER
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.general import (
    as_signing_certificate_v2,
    extract_certificate_info,
    simple_cms_attribute,
)
from pyhanko.sign.signers import constants as signer_constants
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath

from ._async import run_sync
from .attachments import Attachment, AttachmentError, embed_associated_files
from .document import Evidence
from .pki import CertifiedKey, DevelopmentCa, write_pkcs12
from .trust import SealTrust

SEAL_FIELD_NAME = "MandateSeal"
ARCHIVE_TIMESTAMP_FIELD_PREFIX = "ArchiveTimestamp"
EVIDENCE_FILE_NAME = "evidence.json"
EVIDENCE_MIME_TYPE = "application/json"
EVIDENCE_DESCRIPTION = "Evidence of how and when this mandate was signed"
DEVELOPMENT_COMMON_NAME = "Mandate Portal DEVELOPMENT seal"
DEVELOPMENT_KEY_VALIDITY = timedelta(days=3652)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SealingKey:
    """The portal's sealing credential: a pyHanko signer, its certificate and its chain."""

    signer: signers.SimpleSigner
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        """The self-issued certificates of the chain (the seal itself if it is self-signed)."""
        return tuple(c for c in (self.certificate, *self.chain) if c.issuer == c.subject)

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        return tuple(c for c in self.chain if c.issuer != c.subject)

    @cached_property
    def seal_signer(self) -> signers.SimpleSigner:
        """`signer` for the PAdES seal, with its signed attributes prepared once (see
        :class:`_SealAttributes`); `signer` itself keeps pyHanko's defaults for other uses."""
        signer = signers.SimpleSigner(
            signing_cert=self.signer.signing_cert, signing_key=self.signer.signing_key,
            cert_registry=self.signer.cert_registry,
            signature_mechanism=self.signer.signature_mechanism,
            prefer_pss=self.signer.prefer_pss, embed_roots=self.signer.embed_roots)
        signer.signed_attr_prov_spec = _SealAttributes(self.signer.signing_cert)
        return signer


class _EncodedAttribute(CMSAttributeProvider):
    """A signed attribute that is the same in every seal, encoded once and reloaded per use:
    asn1crypto re-encodes a freshly built nested value many times over, a parsed one not."""

    def __init__(self, attribute: cms.CMSAttribute) -> None:
        self.attribute_type = attribute["type"].native
        self._encoded = attribute.dump()

    async def build_attr_value(self, dry_run: bool = False) -> object:
        return cms.CMSAttribute.load(self._encoded)["values"][0]

    async def get_attribute(self, dry_run: bool = False) -> cms.CMSAttribute:
        return cms.CMSAttribute.load(self._encoded)


class _SealAttributes(SignedAttributeProviderSpec):
    """The signed attributes pyHanko gives a PAdES signature without CAdES extras (the seal
    sets none): the signing-certificate-v2 reference to the sealing certificate (PAdES has
    no signing time). Content type and message digest are added by pyHanko per signature."""

    def __init__(self, certificate: asn1_x509.Certificate) -> None:
        self._signing_certificate = _EncodedAttribute(simple_cms_attribute(
            "signing_certificate_v2", as_signing_certificate_v2(certificate)))

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str
                              ) -> Iterable[CMSAttributeProvider]:
        return (self._signing_certificate,)


def load_sealing_key(pkcs12_path: Path, passphrase: bytes | None) -> SealingKey:
    data = Path(pkcs12_path).read_bytes()
    signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
    if signer is None or signer.signing_cert is None:  # older pyHanko returns None
        raise ValueError(f"could not load the sealing key from {pkcs12_path}")
    certificate = x509.load_der_x509_certificate(signer.signing_cert.dump())
    bundle = pkcs12.load_pkcs12(data, passphrase)
    chain = tuple(item.certificate for item in bundle.additional_certs)
    return SealingKey(signer=signer, certificate=certificate, chain=chain)


def create_development_key(
    pkcs12_path: Path,
    common_name: str = DEVELOPMENT_COMMON_NAME,
    *,
    passphrase: bytes | None = None,
    ca: DevelopmentCa | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> SealingKey:
    """An EC P-256 seal for development, issued by `ca` (or self-signed); never overwrites.
    Issued by `ca`, it is valid from the CA's own start: mandates signed on a clock set back
    (a demo, a test) since the CA was made can be sealed."""
    now = _utc_now()
    not_before = not_before or (ca.certificate.not_valid_before_utc if ca is not None
                                else now - timedelta(minutes=5))
    not_after = not_after or now + DEVELOPMENT_KEY_VALIDITY
    if ca is not None:
        credential = ca.issue_seal(common_name, not_before, not_after)
        write_pkcs12(Path(pkcs12_path), credential, [ca.certificate], passphrase)
        return load_sealing_key(pkcs12_path, passphrase)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=True,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False),
            critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256()))
    write_pkcs12(Path(pkcs12_path), CertifiedKey(certificate, key), (), passphrase)
    return load_sealing_key(pkcs12_path, passphrase)


def load_or_create_sealing_key(
    path: Path, passphrase: bytes | None, allow_generate: bool, ca: DevelopmentCa | None = None
) -> SealingKey:
    """Load the seal; generate a development one (issued by `ca`) only when allowed."""
    path = Path(path)
    if not path.exists():
        if not allow_generate:
            raise FileNotFoundError(
                f"sealing key {path} does not exist and generating one is not allowed"
            )
        try:
            return create_development_key(path, passphrase=passphrase, ca=ca)
        except FileExistsError:
            pass  # another process created it first; use theirs
    return load_sealing_key(path, passphrase)


@dataclass(frozen=True)
class Sealer:
    """Everything sealing needs besides the document: key, timestamp authority, trust, time."""

    key: SealingKey
    timestamper: TimeStamper
    trust: SealTrust
    clock: Callable[[], datetime] = _utc_now


class _Pdf17Signer(signers.PdfSigner):
    """A PAdES signer that keeps PDF 1.7 with the ESIC extension, as PDF/A-3 needs.

    pyHanko marks ECDSA seals on the curves of ISO 32002 as PDF 2.0, which would contradict
    the file header and the PDF/A-3 claim; ISO 32000-1 and ETSI EN 319 142 accept ECDSA in
    PAdES signatures of PDF 1.7 files, so only the ESIC extension is declared.
    """

    def register_extensions(self, pdf_out: BasePdfFileWriter, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(signer_constants.ESIC_EXTENSION_1)


def _align_producer(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A: the Info dictionary must agree with the XMP metadata, and pyHanko writes itself
    as the XMP producer of every update, so the Info producer says the same."""
    info_ref = writer.prev.trailer.raw_get("/Info")
    if isinstance(info_ref, generic.IndirectObject):
        info = info_ref.get_object()
        info["/Producer"] = generic.TextStringObject(PYHANKO_PRODUCER)
        writer.mark_update(info_ref)


def evidence_attachment(evidence: Evidence, unsealed_pdf: bytes) -> Attachment:
    return Attachment(
        name=EVIDENCE_FILE_NAME, data=evidence.to_json(hashlib.sha256(unsealed_pdf).hexdigest()),
        mime_type=EVIDENCE_MIME_TYPE, description=EVIDENCE_DESCRIPTION,
        relationship="Supplement")


@dataclass(frozen=True)
class SealedPdf:
    """A sealed PDF, the evidence.json it embeds, and when to renew its archive timestamp."""

    pdf: bytes
    evidence_json: bytes
    #: When the archive timestamp's TSA certificate expires (see :func:`archive.renew_by`).
    renew_by: datetime | None


class _RecordingTimeStamper(TimeStamper):
    """The sealer's TSA for one seal, keeping the tokens it grants (the last one is the archive
    timestamp). Size estimates and validation paths are the TSA's own, so its cached dummy
    response is reused as before. The TSA's certificates are validated once per seal: pyHanko
    asks before signing and again for the archive timestamp, with the same validation context
    (the seal's time), so the second answer is the first."""

    def __init__(self, inner: TimeStamper) -> None:
        super().__init__()
        self.inner = inner
        self.tokens: list[cms.ContentInfo] = []
        self._paths: tuple[ValidationContext, list[ValidationPath]] | None = None

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str
                              ) -> cms.ContentInfo:
        token = await self.inner.async_timestamp(message_digest, md_algorithm)
        self.tokens.append(token)
        return token

    async def async_dummy_response(self, md_algorithm: str) -> cms.ContentInfo:
        return await self.inner.async_dummy_response(md_algorithm)

    async def validation_paths(self, validation_context: ValidationContext
                               ) -> AsyncIterator[ValidationPath]:
        if self._paths is None or self._paths[0] is not validation_context:
            paths = [path async for path in self.inner.validation_paths(validation_context)]
            self._paths = (validation_context, paths)
        for path in self._paths[1]:
            yield path


def _tsa_valid_until(token: cms.ContentInfo) -> datetime:
    signer = extract_certificate_info(token["content"]).signer_cert
    return x509.load_der_x509_certificate(signer.dump()).not_valid_after_utc


#: Bytes reserved for a seal's signature container, per TSA and sealing certificate: pyHanko's
#: own estimate (a dry-run signature with the TSA's cached dummy token, plus its 50% margin),
#: which depends on the key, its chain and the TSA, not on the document.
_reserved: weakref.WeakKeyDictionary[TimeStamper, dict[bytes, int]] = \
    weakref.WeakKeyDictionary()
_reserved_lock = threading.Lock()


def _signature_reserve(pdf_signer: signers.PdfSigner, sealer: Sealer, pdf: bytes) -> int:
    with _reserved_lock:
        known = _reserved.get(sealer.timestamper, {}).get(sealer.key.certificate_der)
    if known is not None:
        return known

    async def estimate() -> int:  # on a scratch copy: a signing session adds the field
        scratch = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        session = pdf_signer.init_signing_session(scratch)
        info = await session.perform_presign_validation(scratch)
        return await session.estimate_signature_container_size(
            info, tight=pdf_signer.signature_meta.tight_size_estimates)

    reserve = run_sync(estimate)
    with _reserved_lock:
        _reserved.setdefault(sealer.timestamper, {})[sealer.key.certificate_der] = reserve
    return reserve


#: What a seal says of itself (the signature dictionary's /Reason and /Location).
SEAL_REASON = "Sealed SEPA direct debit mandate with signing evidence"
SEAL_LOCATION = "Mandate portal"


def seal_pdf(
    pdf: bytes,
    evidence: Evidence,
    sealer: Sealer,
    *,
    attachments: Sequence[Attachment] = (),
    reason: str = SEAL_REASON,
    location: str = SEAL_LOCATION,
) -> bytes:
    """The PAdES-B-LTA sealed PDF: evidence.json and `attachments` embedded and covered."""
    return seal_mandate(pdf, evidence, sealer, attachments=attachments, reason=reason,
                        location=location).pdf


def seal_mandate(
    pdf: bytes,
    evidence: Evidence,
    sealer: Sealer,
    *,
    attachments: Sequence[Attachment] = (),
    reason: str = SEAL_REASON,
    location: str = SEAL_LOCATION,
) -> SealedPdf:
    """:func:`seal_pdf`, with the embedded evidence.json and the archive timestamp's renewal
    date (taken from the token the TSA granted, not by parsing the sealed PDF again)."""
    if any(attachment.name == EVIDENCE_FILE_NAME for attachment in attachments):
        raise AttachmentError(f"{EVIDENCE_FILE_NAME} is the portal's own attachment")
    now = sealer.clock()
    evidence_file = evidence_attachment(evidence, pdf)
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    _align_producer(writer)
    embed_associated_files(writer, [evidence_file, *attachments], when=evidence.signed_at)
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        embed_validation_info=True,
        use_pades_lta=True,
        timestamp_field_name=f"{ARCHIVE_TIMESTAMP_FIELD_PREFIX}1",
        validation_context=sealer.trust.validation_context(now),
    )
    timestamper = _RecordingTimeStamper(sealer.timestamper)
    pdf_signer = _Pdf17Signer(metadata, signer=sealer.key.seal_signer,
                              timestamper=timestamper)
    reserve = _signature_reserve(pdf_signer, sealer, pdf)
    output = run_sync(lambda: pdf_signer.async_sign_pdf(writer, bytes_reserved=reserve))
    # The tokens come in order: the seal's signature timestamp, then the archive timestamp.
    renew_by = _tsa_valid_until(timestamper.tokens[-1]) if len(timestamper.tokens) > 1 else None
    return SealedPdf(pdf=output.getvalue(), evidence_json=evidence_file.data, renew_by=renew_by)
