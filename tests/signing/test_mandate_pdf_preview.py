"""Writes PNG previews of sealed mandates to test-artifacts/pdf/ for a human to look at."""

import shutil
import subprocess

import pytest

from signing import Creditor, Debtor, render_mandate_pdf, seal_pdf

PREVIEWS = [
    ("nl-core-recurrent", {"locale": "nl"}),
    (
        "en-b2b-one-off",
        {
            "locale": "en",
            "scheme": "B2B",
            "sequence": "one_off",
            "place": "London",
            "signing_method": "bank_emandate",
            "reference": "B2B-7F3K-2026-0042",
            "creditor": Creditor(
                "Acme Office Supplies Ltd",
                ("1 Canada Square", "London E14 5AB"),
                "GB",
                "GB98ZZZSDDBARC0000007495895",
            ),
            "debtor": Debtor(
                "Müller & Söhne GmbH",
                ("Hauptstraße 5", "10115 Berlin"),
                "DE",
                "DE89370400440532013000",
                "COBADEFFXXX",
                None,
            ),
        },
    ),
]


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm (Debian package poppler-utils) is not installed; no PNG preview written",
)
@pytest.mark.parametrize("name, fields", PREVIEWS, ids=[name for name, _ in PREVIEWS])
def test_sealed_mandate_preview_is_written_as_png(
    name, fields, repo_root, sealer, make_document, make_evidence, make_branding
):
    out_dir = repo_root / "test-artifacts" / "pdf"
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = make_document(**fields)
    branding = (
        make_branding()
        if doc.locale == "nl"
        else make_branding(display_name="Acme Office Supplies", primary_colour="#1f3a5f", logo=None)
    )
    sealed = seal_pdf(render_mandate_pdf(doc, branding), make_evidence(doc), sealer)
    (out_dir / f"{name}.pdf").write_bytes(sealed)

    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", out_dir / f"{name}.pdf", out_dir / name], check=True
    )
    pages = sorted(out_dir.glob(f"{name}-*.png"))
    assert len(pages) == 1
    assert pages[0].stat().st_size > 10_000
