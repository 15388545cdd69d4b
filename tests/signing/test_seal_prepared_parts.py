"""What sealing prepares once per key must encode exactly what pyHanko would build each time."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from asn1crypto import algos, tsp
from pyhanko.sign.timestamps import dummy_client
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing import LocalTimestampAuthority, Sealer, seal_pdf, verify
from signing._async import run_sync

GRANTED_AT = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def _request(md_algorithm: str, nonce: int | None) -> tsp.TimeStampReq:
    digest = hashlib.new(md_algorithm, b"mandate").digest()
    fields: dict[str, object] = {
        "version": "v1", "cert_req": True,
        "message_imprint": tsp.MessageImprint({
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": md_algorithm}),
            "hashed_message": digest}),
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields)


@pytest.mark.parametrize(("md_algorithm", "nonce"),
                         [("sha256", 7), ("sha256", None), ("sha512", 7)])
def test_the_local_tsa_grants_byte_for_byte_the_token_of_pyhankos_builder(
        pki, monkeypatch, md_algorithm, nonce):
    monkeypatch.setattr(dummy_client, "get_nonce", lambda: 0x0123456789ABCDEF)  # the serial
    ours = LocalTimestampAuthority(pki.timestamping, [pki.ca.root], lambda: GRANTED_AT)
    pyhankos = DummyTimeStamper(
        tsa_cert=pki.timestamping.asn1_certificate, tsa_key=pki.timestamping.asn1_private_key,
        certs_to_embed=SimpleCertificateStore.from_certs([pki.ca.root.asn1_certificate]),
        fixed_dt=GRANTED_AT)
    request = _request(md_algorithm, nonce)
    granted = ours.request_tsa_response(request).dump()
    assert granted == pyhankos.request_tsa_response(request).dump()
    assert ours.request_tsa_response(request).dump() == granted  # and again, from the cache


def test_the_seal_signs_the_attributes_pyhanko_gives_a_pades_signature(sealing_key):
    digest = hashlib.sha256(b"the document").digest()

    def attributes(signer):  # what pyHanko's PdfSigner asks of a signer for a PAdES seal
        return run_sync(lambda: signer.signed_attrs(digest, "sha256", use_pades=True)).dump()

    assert attributes(sealing_key.seal_signer) == attributes(sealing_key.signer)
    assert attributes(sealing_key.seal_signer) == attributes(sealing_key.seal_signer)


class _CountingValidation(TimeStamper):
    """The sealer's TSA, counting how often its certificates are validated."""

    def __init__(self, inner: TimeStamper) -> None:
        super().__init__()
        self.inner, self.validations = inner, 0

    async def async_timestamp(self, message_digest, md_algorithm):
        return await self.inner.async_timestamp(message_digest, md_algorithm)

    async def async_dummy_response(self, md_algorithm):
        return await self.inner.async_dummy_response(md_algorithm)

    async def validation_paths(self, validation_context: ValidationContext
                               ) -> AsyncIterator[ValidationPath]:
        self.validations += 1
        async for path in self.inner.validation_paths(validation_context):
            yield path


def test_a_seal_validates_the_tsa_certificate_once_and_stays_long_term_valid(
        sealer, unsealed_pdf, make_document, make_evidence, trust):
    counting = _CountingValidation(sealer.timestamper)
    sealed = seal_pdf(unsealed_pdf, make_evidence(make_document()),
                      Sealer(sealer.key, counting, sealer.trust, sealer.clock))
    assert counting.validations == 1  # pyHanko asks before signing and for the archive stamp
    report = verify(sealed, trust)
    assert report.ok and report.level == "B-LTA"
