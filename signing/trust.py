"""What the portal trusts when it seals, renews and verifies: anchors and revocation sources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.api import FetcherBackend
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

Certificate: TypeAlias = x509.Certificate | asn1_x509.Certificate | bytes


def as_asn1_certificate(certificate: Certificate) -> asn1_x509.Certificate:
    if isinstance(certificate, asn1_x509.Certificate):
        return certificate
    if isinstance(certificate, x509.Certificate):
        certificate = certificate.public_bytes(Encoding.DER)
    return asn1_x509.Certificate.load(bytes(certificate))


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (e.g. a TSA's CA certificates)."""
    return x509.load_pem_x509_certificates(data)


@dataclass(frozen=True)
class SealTrust:
    """Trust anchors for the seal's and the timestamps' chains, and whose seal is the portal's.

    `seal_subject` (RFC 4514) pins the sealing certificate's subject, so that another holder of
    a certificate from the same public CA is not taken for the portal; ``None`` accepts any
    certificate that chains to `roots`. Current revocation data comes from `revocation`
    (the development CA's in-process backend) or, when it is ``None`` and `fetch_online`
    is set, from the URLs in the certificates.
    """

    roots: tuple[asn1_x509.Certificate, ...]
    seal_subject: str | None = None
    revocation: FetcherBackend | None = None
    fetch_online: bool = False
    #: Certificates a validator may need to build paths (intermediates), not trusted as such.
    intermediates: tuple[asn1_x509.Certificate, ...] = field(default=())

    @classmethod
    def of(cls, roots: Iterable[Certificate], *, seal_subject: str | None = None,
           revocation: FetcherBackend | None = None, fetch_online: bool = False,
           intermediates: Iterable[Certificate] = ()) -> SealTrust:
        """From certificates in any form, without duplicates."""
        unique: dict[bytes, asn1_x509.Certificate] = {}
        for root in roots:
            certificate = as_asn1_certificate(root)
            unique[certificate.dump()] = certificate
        return cls(roots=tuple(unique.values()), seal_subject=seal_subject,
                   revocation=revocation, fetch_online=fetch_online,
                   intermediates=tuple(as_asn1_certificate(c) for c in intermediates))

    @property
    def may_fetch(self) -> bool:
        return self.revocation is not None or self.fetch_online

    @property
    def fetcher_backend(self) -> FetcherBackend | None:
        """`revocation`, else the network (requests-based: nothing to close afterwards)."""
        if self.revocation is not None:
            return self.revocation
        return RequestsFetcherBackend() if self.fetch_online else None

    def validation_context(self, moment: datetime) -> ValidationContext:
        """For sealing and renewing at `moment`: revocation data is required and embedded."""
        return ValidationContext(
            trust_roots=list(self.roots), other_certs=list(self.intermediates), moment=moment,
            allow_fetching=self.may_fetch, fetcher_backend=self.fetcher_backend,
            revocation_mode="require")

    def validation_spec(self) -> PdfSignatureValidationSpec:
        """For verifying: embedded data for the past, fetching only for the present."""
        policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=list(self.roots)),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
        rule = (RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH if self.may_fetch
                else RevinfoOnlineFetchingRule.LOCAL_ONLY)
        return PdfSignatureValidationSpec(SignatureValidationSpec(
            cert_validation_policy=policy,
            local_knowledge=LocalKnowledge(known_certs=list(self.intermediates)),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=rule, fetcher_backend=self.fetcher_backend)))
