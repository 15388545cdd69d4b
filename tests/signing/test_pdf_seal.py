import hashlib
import json
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from signing import create_development_key, load_or_create_sealing_key, load_sealing_key
from signing._async import run_sync
from signing.pki import OCSP_URL, load_or_create_development_pki
from signing.seal import SEAL_FIELD_NAME


def _seal(pdf: bytes):
    return next(s for s in PdfFileReader(BytesIO(pdf)).embedded_signatures
                if s.field_name == SEAL_FIELD_NAME)


def test_pyhanko_validator_accepts_the_seal(sealed_pdf, pki):
    signature = _seal(sealed_pdf)
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[pki.ca.root.asn1_certificate]))
    assert status.bottom_line, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_REVISION"  # the DSS and archive timestamp follow
    assert status.modification_level.name == "LTA_UPDATES"
    assert status.timestamp_validity is not None and status.timestamp_validity.valid
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.sig_object["/Reason"] and signature.sig_object["/Location"]


def test_pyhanko_ades_engine_judges_the_seal_long_term_valid(sealed_pdf, trust):
    result = run_sync(lambda: ades_lta_validation(_seal(sealed_pdf), trust.validation_spec()))
    assert result.ades_subindic.name == "OK", result.failure_msg
    assert result.oldest_evidence_record_timestamp is not None


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) not installed")
def test_poppler_pdfsig_accepts_the_seal(sealed_pdf, tmp_path):
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed_pdf)
    output = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                            check=False).stdout  # pdfsig exits 2 when a certificate is untrusted
    seal = output.split("Signature #2")[0]
    assert "Signature Field Name: MandateSeal" in seal
    assert "Signature Validation: Signature is Valid." in seal
    # poppler lists the archive timestamp but cannot validate document timestamps itself
    assert "Signature Field Name: ArchiveTimestamp1" in output


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


def test_the_seal_carries_an_rfc3161_timestamp_validation_data_and_an_archive_timestamp(
        sealed_pdf, pki, sealing_key):
    """PAdES-B-T (signature timestamp), B-LT (DSS with certificates and OCSP), B-LTA."""
    reader = PdfFileReader(BytesIO(sealed_pdf))
    unsigned = _seal(sealed_pdf).signer_info["unsigned_attrs"]
    assert [a["type"].native for a in unsigned] == ["signature_time_stamp_token"]

    dss = reader.root["/DSS"]
    certificates = {x509.load_der_x509_certificate(c.get_object().data).subject.rfc4514_string()
                    for c in dss["/Certs"]}
    assert sealing_key.certificate.subject.rfc4514_string() in certificates
    assert "CN=Mandate Portal DEVELOPMENT timestamp authority" in certificates
    answers = [asn1_ocsp.OCSPResponse.load(o.get_object().data) for o in dss["/OCSPs"]]
    statuses = [single["cert_status"].name for answer in answers
                for single in answer.basic_ocsp_response["tbs_response_data"]["responses"]]
    assert len(statuses) >= 2 and set(statuses) == {"good"}  # the seal and the TSA

    stamps = reader.embedded_timestamp_signatures
    assert [s.field_name for s in stamps] == ["ArchiveTimestamp1"]
    assert stamps[0].sig_object["/SubFilter"] == "/ETSI.RFC3161"


def test_development_key_is_an_ec_p256_seal_for_ten_years_issued_by_the_development_ca(
        tmp_path, pki):
    path = tmp_path / "keys" / "seal.p12"
    key = create_development_key(path, ca=pki.ca)
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
    assert certificate.issuer == pki.ca.certificate.subject
    assert key.chain == (pki.ca.certificate,) and key.roots == (pki.ca.certificate,)
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert access[0].access_location.value == OCSP_URL and ".invalid/" in OCSP_URL


def test_a_development_seal_is_valid_from_its_cas_start(tmp_path):
    """So a mandate signed on a clock set back since the CA was made (a demo, a test) seals."""
    since = datetime(2025, 1, 1, tzinfo=UTC)
    ca = load_or_create_development_pki(tmp_path / "pki", now=since).ca
    key = create_development_key(tmp_path / "seal.p12", ca=ca)
    assert key.certificate.not_valid_before_utc == ca.certificate.not_valid_before_utc
    assert key.certificate.not_valid_before_utc < since
    assert key.certificate.not_valid_after_utc > datetime.now(UTC) + timedelta(days=3640)


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


def test_load_or_create_generates_once_then_reuses_the_key(tmp_path, pki):
    path = tmp_path / "seal.p12"
    first = load_or_create_sealing_key(path, b"pw", allow_generate=True, ca=pki.ca)
    again = load_or_create_sealing_key(path, b"pw", allow_generate=True, ca=pki.ca)
    assert again.certificate == first.certificate
    assert again.certificate_der == first.certificate_der
