import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing.document import DEFAULT_PRIMARY_COLOUR, Branding, iso_utc

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201ee2a3f9d0000000049454e44ae426082"
)


def test_mandate_document_rejects_naive_signing_time(make_document):
    with pytest.raises(ValueError, match="timezone-aware"):
        make_document(signed_at=datetime(2026, 11, 25, 14, 3))


def test_mandate_document_normalises_signing_time_to_utc(make_document):
    amsterdam = timezone(timedelta(hours=1))
    doc = make_document(signed_at=datetime(2026, 11, 25, 15, 3, tzinfo=amsterdam))
    assert doc.signed_at == datetime(2026, 11, 25, 14, 3, tzinfo=UTC)
    assert doc.signed_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("field, value", [("scheme", "COR1"), ("sequence", "first")])
def test_mandate_document_rejects_unknown_scheme_or_sequence(make_document, field, value):
    with pytest.raises(ValueError, match=field):
        make_document(**{field: value})


def test_evidence_rejects_naive_signing_time(make_document, make_evidence):
    with pytest.raises(ValueError, match="timezone-aware"):
        make_evidence(make_document(), signed_at=datetime(2026, 11, 25, 14, 3))


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "url(http://x)", "", None])
def test_branding_falls_back_to_default_colour_when_invalid(colour):
    assert Branding("Club", colour).primary_colour == DEFAULT_PRIMARY_COLOUR


def test_branding_keeps_valid_hex_colour():
    assert Branding("Club", "#A1b2C3").primary_colour == "#A1b2C3"


@pytest.mark.parametrize(
    "logo, mime",
    [
        (PNG_1X1, "image/gif"),  # type not allowed
        (PNG_1X1, "image/jpeg"),  # bytes are not what the type claims
        (b"<html><img src=x></html>", "image/svg+xml"),
        (PNG_1X1, None),
    ],
)
def test_branding_drops_logo_that_is_not_png_jpeg_or_svg(logo, mime):
    branding = Branding("Club", "#000000", logo=logo, logo_mime=mime)
    assert branding.logo is None and branding.logo_mime is None


def test_branding_keeps_png_logo():
    assert Branding("Club", "#000000", logo=PNG_1X1, logo_mime="image/png").logo == PNG_1X1


def test_evidence_json_is_canonical_with_utc_z_times_and_document_digest(
    make_document, make_evidence
):
    evidence = make_evidence(make_document())
    raw = evidence.to_json("ab" * 32)
    record = json.loads(raw)
    assert (
        raw
        == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert record["document_sha256"] == "ab" * 32
    assert record["signed_at"] == "2026-11-25T14:03:07Z"
    assert [entry["at"] for entry in record["status_history"]] == [
        "2026-11-25T14:00:00Z",
        "2026-11-25T14:03:07Z",
    ]


@given(
    moment=st.datetimes(timezones=st.timezones(), allow_imaginary=False),
    ip=st.text(max_size=40),
    history=st.lists(st.dictionaries(st.text(max_size=10), st.text(max_size=10)), max_size=3),
)
def test_evidence_json_round_trips_and_always_uses_utc(
    make_document, make_evidence, moment, ip, history
):
    evidence = make_evidence(
        make_document(), signed_at=moment, ip=ip, status_history=tuple(history)
    )
    record = json.loads(evidence.to_json("0" * 64))
    assert record["ip"] == ip
    assert record["status_history"] == history
    assert record["signed_at"].endswith("Z")
    parsed = datetime.fromisoformat(record["signed_at"])
    assert parsed == moment.astimezone(UTC)


def test_iso_utc_uses_z_suffix():
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
