"""The development CA's OCSP responder, answered in-process.

pyHanko-certvalidator fetches revocation data through a pluggable backend. In production
that is the network (the URLs in the real certificates); in development and tests it is
this backend, which answers OCSP requests for the development CA's certificates with a
response signed at the clock's time, and hands anything else to `fallback` (or refuses it),
so nothing leaves the machine unless a real certificate asks for it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from datetime import datetime
from typing import TypeAlias

from asn1crypto import cms, crl, ocsp, x509
from cryptography import x509 as pyca_x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    FetcherBackend,
    Fetchers,
    OCSPFetcher,
)

from .pki import OCSP_URL, DevelopmentCa

Clock = Callable[[], datetime]
Certificate: TypeAlias = x509.Certificate | cms.AttributeCertificateV2


def _ocsp_urls(certificate: Certificate) -> set[str]:
    if not isinstance(certificate, x509.Certificate):
        return set()
    return set(certificate.ocsp_urls)


class _LocalOcspFetcher(OCSPFetcher):
    def __init__(self, ca: DevelopmentCa, clock: Clock, fallback: OCSPFetcher | None) -> None:
        self._ca, self._clock, self._fallback = ca, clock, fallback
        self._fetched: dict[bytes, ocsp.OCSPResponse] = {}

    async def fetch(self, cert: Certificate, authority: Authority) -> ocsp.OCSPResponse:
        if OCSP_URL not in _ocsp_urls(cert):
            if self._fallback is None:
                raise OCSPFetchError("no OCSP responder served by the development CA")
            return await self._fallback.fetch(cert, authority)
        key = cert.dump()
        if key not in self._fetched:
            certificate = pyca_x509.load_der_x509_certificate(key)
            now = self._clock()
            if not self._ca.issued(certificate) or not (
                    certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
                raise OCSPFetchError("the development CA answers only for its valid certificates")
            self._fetched[key] = ocsp.OCSPResponse.load(self._ca.ocsp_response(certificate, now))
        return self._fetched[key]

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        fallback = list(self._fallback.fetched_responses()) if self._fallback else []
        return [*self._fetched.values(), *fallback]

    def fetched_responses_for_cert(self, cert: Certificate) -> Iterable[ocsp.OCSPResponse]:
        if cert.dump() in self._fetched:
            return [self._fetched[cert.dump()]]
        return self._fallback.fetched_responses_for_cert(cert) if self._fallback else []


class _FallbackCrls(CRLFetcher):
    """The development CA publishes no CRL; other certificates' CRLs come from `fallback`."""

    def __init__(self, fallback: CRLFetcher | None) -> None:
        self._fallback = fallback

    async def fetch(self, cert: Certificate, *, use_deltas: bool | None = None
                    ) -> Iterable[crl.CertificateList]:
        if self._fallback is None or OCSP_URL in _ocsp_urls(cert):
            raise CRLFetchError("the development CA publishes no CRL")
        return await self._fallback.fetch(cert, use_deltas=use_deltas)

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return self._fallback.fetched_crls() if self._fallback else ()

    def fetched_crls_for_cert(self, cert: Certificate) -> Iterable[crl.CertificateList]:
        if self._fallback is None:
            raise KeyError("no CRL fetched")
        return self._fallback.fetched_crls_for_cert(cert)


class _FallbackCertificates(CertificateFetcher):
    def __init__(self, fallback: CertificateFetcher | None) -> None:
        self._fallback = fallback

    async def fetch_cert_issuers(self, cert: Certificate
                                 ) -> AsyncGenerator[x509.Certificate, None]:
        if self._fallback is not None:
            async for issuer in self._fallback.fetch_cert_issuers(cert):
                yield issuer

    async def fetch_crl_issuers(self, certificate_list: crl.CertificateList
                                ) -> AsyncGenerator[x509.Certificate, None]:
        if self._fallback is not None:
            async for issuer in self._fallback.fetch_crl_issuers(certificate_list):
                yield issuer

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return self._fallback.fetched_certs() if self._fallback else ()


class DevelopmentRevocation(FetcherBackend):
    """OCSP answers for the development CA's certificates, made at `clock()` time.

    With `fallback` (pyHanko's network backend), real certificates, such as those of a real
    TSA tried in development, are checked online as usual.
    """

    def __init__(self, ca: DevelopmentCa, clock: Clock,
                 fallback: FetcherBackend | None = None) -> None:
        self.ca, self.clock, self.fallback = ca, clock, fallback

    def get_fetchers(self) -> Fetchers:
        other = self.fallback.get_fetchers() if self.fallback is not None else None
        return Fetchers(
            ocsp_fetcher=_LocalOcspFetcher(self.ca, self.clock,
                                           other.ocsp_fetcher if other else None),
            crl_fetcher=_FallbackCrls(other.crl_fetcher if other else None),
            cert_fetcher=_FallbackCertificates(other.cert_fetcher if other else None))

    async def close(self) -> None:
        if self.fallback is not None:
            await self.fallback.close()
