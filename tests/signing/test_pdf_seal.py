import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from signing import create_development_key, load_or_create_sealing_key, load_sealing_key
from signing.seal import SEAL_FIELD_NAME


def test_pyhanko_validator_accepts_the_seal(sealed_pdf, sealing_key):
    signature = PdfFileReader(BytesIO(sealed_pdf)).embedded_signatures[0]
    status = validate_pdf_signature(
        signature, ValidationContext(trust_roots=[sealing_key.signer.signing_cert])
    )
    assert status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert signature.field_name == SEAL_FIELD_NAME
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.sig_object["/Reason"] and signature.sig_object["/Location"]


def test_seal_appends_to_the_unsealed_pdf_without_changing_it(sealed_pdf, unsealed_pdf):
    assert sealed_pdf.startswith(unsealed_pdf)
    assert len(sealed_pdf) > len(unsealed_pdf)


def test_seal_embeds_evidence_json_naming_the_unsealed_pdf_digest(sealed_pdf, unsealed_pdf):
    attachments = PdfReader(BytesIO(sealed_pdf)).attachments
    assert list(attachments) == ["evidence.json"]
    evidence = json.loads(attachments["evidence.json"][0])
    assert evidence["document_sha256"] == hashlib.sha256(unsealed_pdf).hexdigest()
    assert evidence["signed_at"] == "2026-11-25T14:03:07Z"
    assert b"/Subtype /application#2Fjson" in sealed_pdf


def test_development_key_is_private_ec_p256_for_non_repudiation_for_ten_years(tmp_path):
    path = tmp_path / "keys" / "seal.p12"
    key = create_development_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    certificate = key.certificate
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert certificate.public_key().curve.name == "secp256r1"
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert lifetime >= timedelta(days=3650)
    assert certificate.not_valid_before_utc <= datetime.now(UTC)
    assert "DEVELOPMENT" in certificate.subject.rfc4514_string()


def test_development_key_never_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "seal.p12"
    path.write_bytes(b"production key")
    with pytest.raises(FileExistsError):
        create_development_key(path)
    assert path.read_bytes() == b"production key"


def test_passphrase_protected_key_round_trips(tmp_path):
    path = tmp_path / "seal.p12"
    created = create_development_key(path, passphrase=b"correct horse")
    assert load_sealing_key(path, b"correct horse").certificate == created.certificate
    with pytest.raises(ValueError):
        load_sealing_key(path, b"wrong")


def test_load_or_create_refuses_to_generate_unless_allowed(tmp_path):
    with pytest.raises(FileNotFoundError, match="not allowed"):
        load_or_create_sealing_key(tmp_path / "seal.p12", None, allow_generate=False)
    assert not (tmp_path / "seal.p12").exists()


def test_load_or_create_generates_once_then_reuses_the_key(tmp_path):
    path = tmp_path / "seal.p12"
    first = load_or_create_sealing_key(path, b"pw", allow_generate=True)
    again = load_or_create_sealing_key(path, b"pw", allow_generate=True)
    assert again.certificate == first.certificate
    assert again.certificate_der == first.certificate_der
