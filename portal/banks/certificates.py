"""Keys and certificates for eMandates: loading PEM files, the SHA-1 fingerprint that names a
certificate in ``KeyInfo/KeyName``, and self-signed pairs for the sandbox and development."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "CertificateError",
    "SigningPair",
    "create_signing_pair",
    "fingerprint",
    "load_certificate",
    "load_or_create_signing_pair",
    "load_signing_pair",
]

#: Key size of the pairs generated here (eMandates acquirers require RSA of at least 2048 bits).
KEY_BITS = 2048


class CertificateError(ValueError):
    """A key or certificate file is missing, unreadable, or the two do not belong together."""


@dataclass(frozen=True)
class SigningPair:
    """A private key and the certificate of its public key."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)


def fingerprint(certificate: x509.Certificate) -> str:
    """Uppercase hex SHA-1 of the DER certificate: how iDx names the signing certificate."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def load_certificate(path: str | Path) -> x509.Certificate:
    """A PEM (or DER) certificate from a file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CertificateError(f"certificate {path} cannot be read: {exc.strerror}") from None
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(f"certificate {path} is not a PEM or DER certificate") from None


def load_signing_pair(key_path: str | Path, certificate_path: str | Path,
                      passphrase: str | None = None) -> SigningPair:
    """The RSA key and its certificate; refuses a key that does not match the certificate."""
    try:
        key_data = Path(key_path).read_bytes()
    except OSError as exc:
        raise CertificateError(f"key {key_path} cannot be read: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(
            key_data, passphrase.encode() if passphrase else None)
    except (ValueError, TypeError):
        raise CertificateError(
            f"key {key_path} is not a PEM private key, or the passphrase is wrong") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(f"key {key_path} is not an RSA key (iDx signs with RSA-SHA256)")
    certificate = load_certificate(certificate_path)
    public = certificate.public_key()
    if (not isinstance(public, rsa.RSAPublicKey)
            or public.public_numbers() != key.public_key().public_numbers()):
        raise CertificateError(f"key {key_path} does not belong to certificate {certificate_path}")
    return SigningPair(key, certificate)


def create_signing_pair(common_name: str, *, days: int = 3650,
                        now: datetime | None = None) -> SigningPair:
    """A new self-signed RSA pair (sandbox and development only)."""
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mandate portal sandbox")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256()))
    return SigningPair(key, certificate)


def load_or_create_signing_pair(folder: Path, name: str, common_name: str) -> SigningPair:
    """``folder/name.key`` and ``folder/name.pem``, generated once (mode 0600 for the key)."""
    key_path, certificate_path = folder / f"{name}.key", folder / f"{name}.pem"
    if key_path.exists() and certificate_path.exists():
        return load_signing_pair(key_path, certificate_path)
    folder.mkdir(parents=True, exist_ok=True)
    pair = create_signing_pair(common_name)
    key_pem = pair.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process is generating the same pair: use theirs
        return _wait_for_pair(key_path, certificate_path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    temporary = certificate_path.with_suffix(".pem.tmp")
    temporary.write_bytes(pair.certificate.public_bytes(serialization.Encoding.PEM))
    temporary.replace(certificate_path)
    return pair


def _wait_for_pair(key_path: Path, certificate_path: Path) -> SigningPair:
    import time

    for _ in range(100):
        if certificate_path.exists():
            return load_signing_pair(key_path, certificate_path)
        time.sleep(0.05)
    raise CertificateError(f"{certificate_path} was not written by the process generating it")
