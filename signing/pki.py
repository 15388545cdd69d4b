"""A local certificate authority for development and tests: the seal, the TSA and OCSP.

A self-signed seal is its own trust anchor, so "validation data embedded" would mean nothing:
there is nothing to revoke. This CA makes the development chain look like a real one instead:
a root (the trust anchor) issues the seal and the timestamp authority's certificates, each
naming an OCSP responder, and signs a fresh OCSP response for a certificate whenever asked.
The responder's URL is under ``.invalid``, so nothing outside the portal can ever reach it;
the portal answers it in-process (:mod:`signing.revocation`), and pyHanko embeds the answers.

OCSP rather than a CRL: a CRL fetched years later, when an archive timestamp is renewed, still
covers (by absence) a seal or TSA certificate that has long expired, and pyHanko's past
validation then moves its control time after that expiry. An OCSP response speaks for one
certificate, at a time it was valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from .durable_files import create_file_durably

OCSP_URL = "http://development-ca.mandate-portal.invalid/ocsp"
ROOT_COMMON_NAME = "Mandate Portal DEVELOPMENT root CA"
TSA_COMMON_NAME = "Mandate Portal DEVELOPMENT timestamp authority"
DEFAULT_VALIDITY = timedelta(days=3652)
#: How long an OCSP answer is fresh. A past validation slides back to the end of this window
#: (ETSI EN 319 102-1 time-slide), so a seal made in a certificate's last day would fail it.
OCSP_VALIDITY = timedelta(days=1)
_BACKDATE = timedelta(minutes=5)  # tolerate clocks a little behind the CA's


@dataclass(frozen=True)
class CertifiedKey:
    """A private key with its certificate (cryptography objects)."""

    certificate: x509.Certificate
    private_key: PrivateKeyTypes

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def asn1_certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate_der)

    @property
    def asn1_private_key(self) -> asn1_keys.PrivateKeyInfo:
        der = self.private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        return asn1_keys.PrivateKeyInfo.load(der)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signing: bool = False, commitment: bool = False,
               ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing, content_commitment=commitment, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False)


@dataclass(frozen=True)
class DevelopmentCa:
    """The development root: issues seal and TSA certificates and answers OCSP for them."""

    root: CertifiedKey

    @classmethod
    def create(cls, now: datetime, validity: timedelta = DEFAULT_VALIDITY,
               common_name: str = ROOT_COMMON_NAME) -> DevelopmentCa:
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(common_name)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE).not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
        return cls(CertifiedKey(certificate, key))

    @property
    def certificate(self) -> x509.Certificate:
        return self.root.certificate

    def _issue(self, builder: x509.CertificateBuilder,
               revocation_pointer: bool = True) -> x509.Certificate:
        issuer_key = self.root.private_key
        assert isinstance(issuer_key, ec.EllipticCurvePrivateKey)
        public = self.root.certificate.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        signer: CertificateIssuerPrivateKeyTypes = issuer_key
        builder = (
            builder.issuer_name(self.root.certificate.subject)
            .serial_number(x509.random_serial_number())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False))
        if revocation_pointer:
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(OCSP_URL))]),
                critical=False)
        return builder.sign(signer, hashes.SHA256())

    def issue_seal(self, common_name: str, not_before: datetime, not_after: datetime,
                   key: ec.EllipticCurvePrivateKey | None = None) -> CertifiedKey:
        """An EC P-256 sealing certificate (non-repudiation), like a QTSP would issue."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name))
            .public_key(key.public_key())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(_key_usage(signing=True, commitment=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False))
        return CertifiedKey(self._issue(builder), key)

    def issue_timestamping(self, not_before: datetime, not_after: datetime,
                           common_name: str = TSA_COMMON_NAME) -> CertifiedKey:
        """An RSA certificate for a timestamp authority (critical timeStamping usage, RFC 3161)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name))
            .public_key(key.public_key())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False))
        return CertifiedKey(self._issue(builder), key)

    def issued(self, certificate: x509.Certificate) -> bool:
        return certificate.issuer == self.certificate.subject

    @cached_property
    def ocsp_responder(self) -> CertifiedKey:
        """A delegated responder (id-kp-OCSPSigning, ocsp-nocheck), as real CAs run them.

        Answers signed by the root itself would need revocation data for the root, which a
        trust anchor never has; a responder certificate marked no-check needs none.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(_name(f"{ROOT_COMMON_NAME} OCSP responder"))
            .public_key(key.public_key())
            .not_valid_before(self.certificate.not_valid_before_utc)
            .not_valid_after(self.certificate.not_valid_after_utc)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]),
                           critical=True)
            .add_extension(x509.OCSPNoCheck(), critical=False))
        return CertifiedKey(self._issue(builder, revocation_pointer=False), key)

    def ocsp_response(self, certificate: x509.Certificate, now: datetime,
                      revoked_at: datetime | None = None) -> bytes:
        """This CA's signed OCSP answer (DER) about `certificate` at `now`: good or revoked.

        Like a responder that pre-produces its answers, ``thisUpdate`` is a little before
        `now`, so a validator whose clock is a moment behind does not find it "too recent".
        """
        responder = self.ocsp_responder
        responder_key = responder.private_key
        assert isinstance(responder_key, ec.EllipticCurvePrivateKey)
        status = ocsp.OCSPCertStatus.GOOD if revoked_at is None else ocsp.OCSPCertStatus.REVOKED
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(cert=certificate, issuer=self.certificate, algorithm=hashes.SHA256(),
                          cert_status=status, this_update=now - _BACKDATE,
                          next_update=now - _BACKDATE + OCSP_VALIDITY, revocation_time=revoked_at,
                          revocation_reason=None)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
            .certificates([responder.certificate]))
        return builder.sign(responder_key, hashes.SHA256()).public_bytes(Encoding.DER)


@dataclass(frozen=True)
class DevelopmentPki:
    """The development CA and the certificate of the local timestamp authority it runs."""

    ca: DevelopmentCa
    timestamping: CertifiedKey


def write_pkcs12(path: Path, credential: CertifiedKey, chain: Sequence[x509.Certificate] = (),
                 passphrase: bytes | None = None) -> None:
    """A PKCS#12 file holding `credential` and its `chain`; never overwrites a file."""
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    name = credential.certificate.subject.rfc4514_string().encode("utf-8")
    data = pkcs12.serialize_key_and_certificates(
        name, key, credential.certificate, list(chain) or None, encryption)
    create_file_durably(Path(path), data, mode=0o600)


def read_pkcs12(path: Path, passphrase: bytes | None = None
                ) -> tuple[CertifiedKey, list[x509.Certificate]]:
    loaded = pkcs12.load_pkcs12(Path(path).read_bytes(), passphrase)
    if loaded.key is None or loaded.cert is None:
        raise ValueError(f"{path} holds no key with its certificate")
    chain = [item.certificate for item in loaded.additional_certs]
    return CertifiedKey(loaded.cert.certificate, loaded.key), chain


def load_or_create_development_pki(directory: Path, now: datetime | None = None
                                   ) -> DevelopmentPki:
    """The CA (``ca.p12``) and TSA credential (``tsa.p12``) in `directory`, made once.

    Created together or not at all per file: a crash between the two leaves the CA, and the
    next start adds the TSA certificate.
    """
    directory = Path(directory)
    now = now or datetime.now(UTC)
    ca_path, tsa_path = directory / "ca.p12", directory / "tsa.p12"
    if not ca_path.exists():
        try:
            write_pkcs12(ca_path, DevelopmentCa.create(now).root)
        except FileExistsError:
            pass  # another process made it first; use theirs
    root, _ = read_pkcs12(ca_path)
    ca = DevelopmentCa(root)
    if not tsa_path.exists():
        try:
            write_pkcs12(tsa_path, ca.issue_timestamping(now - _BACKDATE, now + DEFAULT_VALIDITY),
                         [ca.certificate])
        except FileExistsError:
            pass
    timestamping, _ = read_pkcs12(tsa_path)
    return DevelopmentPki(ca=ca, timestamping=timestamping)
