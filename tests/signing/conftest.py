"""Fixtures for the signing package: realistic mandates, one development PKI and seal per session.

The PKI (a root CA, the seal, a local TSA and its CRL) is made once; the unsealed and the sealed
PDF are rendered once and shared, so only tests about sealing itself pay for a seal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from signing import (
    Branding,
    Creditor,
    Debtor,
    DevelopmentCa,
    DevelopmentPki,
    DevelopmentRevocation,
    Evidence,
    LocalTimestampAuthority,
    MandateDocument,
    Sealer,
    SealingKey,
    SealTrust,
    create_development_key,
    load_or_create_development_pki,
    render_mandate_pdf,
    seal_pdf,
)
from signing.texts import MANDATE_TEXT_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGNED_AT = datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)

LOGO_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">
<rect x="0" y="0" width="40" height="40" rx="8" fill="#0a7f5a"/>
<path d="M10 28 L20 10 L30 28 Z" fill="#ffffff"/>
<text x="48" y="27" font-family="DejaVu Sans" font-size="16" font-weight="bold" fill="#0a7f5a">SVV</text>
</svg>"""


def _make_document(**overrides: object) -> MandateDocument:
    fields = {
        "reference": "MDT-2026-000123",
        "scheme": "CORE",
        "sequence": "recurrent",
        "creditor": Creditor(
            name="Stichting Sportvereniging Voorbeeld",
            address_lines=("Dorpsstraat 12", "1234 AB Amsterdam"),
            country="NL",
            creditor_id="NL98ZZZ999999999999",
        ),
        "debtor": Debtor(
            name="Jan de Vries",
            address_lines=("Kerkweg 3", "3511 AA Utrecht"),
            country="NL",
            iban="NL91ABNA0417164300",
            bic="ABNANL2A",
            email="jan@example.org",
        ),
        "signed_at": SIGNED_AT,
        "place": "Utrecht",
        "signing_method": "payment_verification",
        "locale": "nl",
        "text_version": MANDATE_TEXT_VERSION,
    }
    fields.update(overrides)
    return MandateDocument(**fields)  # type: ignore[arg-type]


def _make_evidence(doc: MandateDocument, **overrides: object) -> Evidence:
    fields = {
        "signer_name": doc.debtor.name,
        "masked_iban": "NL91 **** **** **** 4300",
        "signed_at": doc.signed_at,
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        "method": doc.signing_method,
        "provider_payment_id": "tr_WDqYK6vllg",
        "bank_message_id": None,
        "locale": doc.locale,
        "text_version": doc.text_version,
        "status_history": (
            {"status": "pending_signature", "at": datetime(2026, 11, 25, 14, 0, tzinfo=UTC)},
            {"status": "signed", "at": doc.signed_at},
        ),
    }
    fields.update(overrides)
    return Evidence(**fields)  # type: ignore[arg-type]


def _make_branding(**overrides: object) -> Branding:
    fields = {
        "display_name": "Sportvereniging Voorbeeld",
        "primary_colour": "#0a7f5a",
        "logo": LOGO_SVG,
        "logo_mime": "image/svg+xml",
    }
    fields.update(overrides)
    return Branding(**fields)  # type: ignore[arg-type]


def _pdf_text(pdf: bytes) -> str:
    """All page text, whitespace collapsed so wrapped lines still match phrases."""
    reader = PdfReader(BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_sealer(ca: DevelopmentCa, key: SealingKey, tsa: LocalTimestampAuthority,
                clock: Callable[[], datetime] = utc_now) -> Sealer:
    """The portal's way of sealing, with everything local: the CA answers its own CRL URL."""
    trust = SealTrust.of(
        [ca.certificate], seal_subject=key.certificate.subject.rfc4514_string(),
        revocation=DevelopmentRevocation(ca, clock))
    return Sealer(key=key, timestamper=tsa, trust=trust, clock=clock)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentPki:
    return load_or_create_development_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def sealing_key(tmp_path_factory: pytest.TempPathFactory, pki: DevelopmentPki) -> SealingKey:
    return create_development_key(tmp_path_factory.mktemp("seal") / "portal-seal.p12", ca=pki.ca)


@pytest.fixture(scope="session")
def sealer(pki: DevelopmentPki, sealing_key: SealingKey) -> Sealer:
    return make_sealer(pki.ca, sealing_key, LocalTimestampAuthority(pki.timestamping, [pki.ca.root]))


@pytest.fixture(scope="session")
def trust(sealer: Sealer) -> SealTrust:
    return sealer.trust


@pytest.fixture(scope="session")
def foreign_key(tmp_path_factory: pytest.TempPathFactory) -> SealingKey:
    """A self-signed seal of someone else: no chain to the portal's CA."""
    return create_development_key(
        tmp_path_factory.mktemp("foreign") / "other.p12", common_name="Someone else"
    )


@pytest.fixture(scope="session")
def foreign_sealer(pki: DevelopmentPki, foreign_key: SealingKey, sealer: Sealer) -> Sealer:
    trust = SealTrust.of([pki.ca.certificate, foreign_key.certificate],
                         revocation=sealer.trust.revocation)
    return Sealer(key=foreign_key, timestamper=sealer.timestamper, trust=trust)


@pytest.fixture(scope="session")
def unsealed_pdf() -> bytes:
    return render_mandate_pdf(_make_document(), _make_branding())


@pytest.fixture(scope="session")
def sealed_pdf(unsealed_pdf: bytes, sealer: Sealer) -> bytes:
    return seal_pdf(unsealed_pdf, _make_evidence(_make_document()), sealer)


@pytest.fixture(scope="session")
def make_document() -> Callable[..., MandateDocument]:
    """Factory: a Dutch CORE recurrent mandate; keyword arguments override fields."""
    return _make_document


@pytest.fixture(scope="session")
def make_evidence() -> Callable[..., Evidence]:
    """Factory: evidence consistent with a given document."""
    return _make_evidence


@pytest.fixture(scope="session")
def make_branding() -> Callable[..., Branding]:
    return _make_branding


@pytest.fixture(scope="session")
def pdf_text() -> Callable[[bytes], str]:
    return _pdf_text


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
