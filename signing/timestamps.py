"""RFC 3161 timestamp authorities: a real one over HTTP, and a local one for development.

Both are pyHanko ``TimeStamper``s. The local one answers requests in-process with pyHanko's
own token builder, signed by the development CA's TSA certificate at the injected clock's
time; :func:`timestamp_reply` lets a test serve it over HTTP like a real TSA.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.general import (
    as_signing_certificate,
    extract_certificate_info,
    simple_cms_attribute,
)
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InvalidCertificateError,
    PathBuildingError,
    PathValidationError,
)
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ._async import run_sync
from .pki import CertifiedKey
from .trust import Certificate, as_asn1_certificate

TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"


def _utc_now() -> datetime:
    return datetime.now(UTC)


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class _TokenBuilder(DummyTimeStamper):
    """pyHanko's token builder, with what is constant per TSA key prepared once.

    The key is loaded once (RSA loading is slow), and the parts of a token that depend only on
    the TSA's certificate (its signing-certificate attribute, signer identifier, signature
    algorithm and certificate set) are encoded once and reloaded per token: asn1crypto
    re-encodes a freshly built nested value many times over (a few milliseconds a token),
    while a parsed one keeps its encoding.
    """

    def __init__(self, credential: CertifiedKey, chain: SimpleCertificateStore) -> None:
        super().__init__(tsa_cert=credential.asn1_certificate,
                         tsa_key=credential.asn1_private_key, certs_to_embed=chain)
        key = credential.private_key
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("the local timestamp authority signs with an RSA key")
        self._key = key
        self._content_type = simple_cms_attribute("content_type", "tst_info").dump()
        self._signing_certificate = simple_cms_attribute(
            "signing_certificate", as_signing_certificate(self.tsa_cert)).dump()
        self._signer_id = cms.SignerIdentifier({
            "issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": self.tsa_cert.issuer, "serial_number": self.tsa_cert.serial_number,
            })}).dump()
        self._signature_algorithm = algos.SignedDigestAlgorithm(
            {"algorithm": "rsassa_pkcs1v15"}).dump()
        self._certificates = cms.CertificateSet(
            cms.CertificateChoices(name="certificate", value=certificate)
            for certificate in {*self.certs_to_embed, self.tsa_cert}).dump()

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime
                       ) -> tuple[bytes, cms.CMSAttributes]:
        algorithm = _HASHES[md_algorithm.lower()]()
        digest = hashes.Hash(algorithm)
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            cms.CMSAttribute.load(self._content_type),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            cms.CMSAttribute.load(self._signing_certificate),
            simple_cms_attribute("message_digest", digest.finalize()),
        ]).dump()
        signature = self._key.sign(signed_attrs, padding.PKCS1v15(), algorithm)
        return signature, cms.CMSAttributes.load(signed_attrs)

    def _build_signed_data(self, tst_info_data: bytes, md_algorithm: str, signature: bytes,
                           signed_attrs: cms.CMSAttributes) -> dict[str, object]:
        digest_algorithm = algos.DigestAlgorithm({"algorithm": md_algorithm}).dump()
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier.load(self._signer_id),
            "digest_algorithm": algos.DigestAlgorithm.load(digest_algorithm),
            "signature_algorithm": algos.SignedDigestAlgorithm.load(self._signature_algorithm),
            "signed_attrs": signed_attrs,
            "signature": signature,
        })
        return {
            "version": "v3",  # for an EncapsulatedContentInfo of type TSTInfo
            "digest_algorithms": cms.DigestAlgorithms(
                [algos.DigestAlgorithm.load(digest_algorithm)]),
            "encap_content_info": cms.EncapsulatedContentInfo({
                "content_type": cms.ContentType("tst_info"),
                "content": cms.ParsableOctetString(tst_info_data),
            }),
            "certificates": cms.CertificateSet.load(self._certificates),
            "signer_infos": [signer_info],
        }


class LocalTimestampAuthority(TimeStamper):
    """A TSA that runs inside the process: every request is granted at `clock()` time."""

    def __init__(self, credential: CertifiedKey, chain: Sequence[CertifiedKey] = (),
                 clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__()
        self.credential, self.clock = credential, clock
        self._builder = _TokenBuilder(credential, SimpleCertificateStore.from_certs(
            [c.asn1_certificate for c in chain]))
        self._lock = threading.Lock()  # the builder holds the time of the request it answers

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        with self._lock:
            self._builder.fixed_dt = self.clock()
            return self._builder.request_tsa_response(req)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self.request_tsa_response(req)


def timestamp_reply(authority: LocalTimestampAuthority, query: bytes) -> bytes:
    """The DER TimeStampResp for a DER TimeStampReq, for serving a local TSA over HTTP."""
    return authority.request_tsa_response(tsp.TimeStampReq.load(query)).dump()


@dataclass(frozen=True)
class TsaSettings:
    """Where the real TSA is: its RFC 3161 URL and, if it wants them, credentials."""

    url: str
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0


def http_timestamper(settings: TsaSettings) -> TimeStamper:
    """pyHanko's HTTP client for the TSA at `settings.url`, with HTTP basic credentials."""
    if not settings.url.startswith(("https://", "http://")):
        raise ValueError(f"TSA URL must be http(s): {settings.url!r}")
    headers = None
    if settings.username is not None:
        pair = f"{settings.username}:{settings.password or ''}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return RequestsHTTPTimeStamper(settings.url, timeout=settings.timeout_seconds,
                                   headers=headers)


class UntrustedTimestampAuthority(ValueError):
    """The TSA answered, but its certificate is not trusted for timestamping."""


def probe_timestamp_authority(timestamper: TimeStamper, roots: Iterable[Certificate],
                              now: datetime) -> x509.Certificate:
    """Ask for one timestamp and check the TSA's certificate chains to `roots` for timestamping.

    Revocation is checked where it can be fetched, leniently: this is a configuration check,
    the seal itself requires revocation data.
    """
    anchors = [as_asn1_certificate(root) for root in roots]

    async def probe() -> x509.Certificate:
        token = await timestamper.async_timestamp(hashlib.sha256(b"probe").digest(), "sha256")
        info = extract_certificate_info(token["content"])
        context = ValidationContext(trust_roots=anchors, allow_fetching=True,
                                    fetcher_backend=RequestsFetcherBackend(),
                                    revocation_mode="soft-fail", moment=now)
        validator = CertificateValidator(info.signer_cert, intermediate_certs=info.other_certs,
                                         validation_context=context)
        try:
            await validator.async_validate_usage(set(), extended_key_usage={"time_stamping"})
        except (PathBuildingError, PathValidationError, InvalidCertificateError) as exc:
            raise UntrustedTimestampAuthority(str(exc)) from exc
        return x509.load_der_x509_certificate(info.signer_cert.dump())

    return run_sync(probe)
