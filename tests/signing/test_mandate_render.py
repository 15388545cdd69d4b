import re
from io import BytesIO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from signing import Creditor, Debtor, render_mandate_pdf
from signing.render import group_iban, render_mandate_html

A4_POINTS = (595, 842)

EXPECTED = {
    "nl": {
        "title": {
            ("CORE", "recurrent"): "Doorlopende machtiging SEPA",
            ("B2B", "one_off"): "Eenmalige machtiging SEPA Bedrijvenincasso",
        },
        "sequence": {"recurrent": "Doorlopende betaling", "one_off": "Eenmalige betaling"},
        "refund": "8 weken",
        "no_refund": "geen recht op terugboeking",
        "date": "25-11-2026 14:03 UTC",
        "method": "iDEAL-betaling",
    },
    "en": {
        "title": {
            ("CORE", "recurrent"): "SEPA Direct Debit Mandate",
            ("B2B", "one_off"): "SEPA Business-to-Business Direct Debit Mandate",
        },
        "sequence": {"recurrent": "Recurrent payment", "one_off": "One-off payment"},
        "refund": "8 weeks",
        "no_refund": "not entitled to a refund",
        "date": "2026-11-25 14:03 UTC",
        "method": "iDEAL payment",
    },
}


@pytest.mark.parametrize("scheme, sequence", [("CORE", "recurrent"), ("B2B", "one_off")])
@pytest.mark.parametrize("locale", ["nl", "en"])
def test_pdf_shows_every_field_the_rulebook_requires(
    make_document, make_branding, pdf_text, locale, scheme, sequence
):
    doc = make_document(locale=locale, scheme=scheme, sequence=sequence)
    text = pdf_text(render_mandate_pdf(doc, make_branding()))
    expected = EXPECTED[locale]

    for shown in (
        expected["title"][(scheme, sequence)],
        "MDT-2026-000123",
        "Stichting Sportvereniging Voorbeeld",
        "Dorpsstraat 12",
        "1234 AB Amsterdam",
        "NL98ZZZ999999999999",
        "Jan de Vries",
        "Kerkweg 3",
        "3511 AA Utrecht",
        "NL91 ABNA 0417 1643 00",
        "ABNANL2A",
        expected["sequence"][sequence],
        expected["date"],
        "Utrecht",
        expected["method"],
        doc.text_version,
        "Sportvereniging Voorbeeld",  # branding display name
    ):
        assert shown in text, f"{shown!r} missing from the {locale} {scheme} PDF"
    if scheme == "CORE":
        assert expected["refund"] in text and expected["no_refund"] not in text
    else:
        assert expected["no_refund"] in text and expected["refund"] not in text


def test_pdf_is_one_a4_page_in_the_document_language(make_document, make_branding):
    pdf = render_mandate_pdf(make_document(locale="de"), make_branding())
    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(box.width), round(box.height)) == A4_POINTS
    assert reader.trailer["/Root"].get("/Lang") == "de"


def test_pdf_without_bic_shows_a_dash(make_document, make_branding, pdf_text):
    doc = make_document(
        locale="en",
        debtor=Debtor("Jan", ("Street 1",), "DE", "DE89370400440532013000", None, None),
    )
    text = pdf_text(render_mandate_pdf(doc, make_branding()))
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "BIC —" in text


def test_pdf_embeds_png_logo_as_an_image(make_document, make_branding):
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 32), (10, 127, 90)).save(buffer, "PNG")
    branding = make_branding(logo=buffer.getvalue(), logo_mime="image/png")
    reader = PdfReader(BytesIO(render_mandate_pdf(make_document(), branding)))
    assert len(reader.pages[0].images) == 1


def test_html_applies_brand_colour(make_document, make_branding):
    html = render_mandate_html(make_document(), make_branding(primary_colour="#c0ffee"))
    assert "--brand: #c0ffee;" in html


def test_long_names_and_addresses_stay_on_one_page(make_document, make_branding):
    creditor = Creditor(
        "Vereniging " * 12, ("Lange Straatnaam 1000",) * 4, "NL", "NL98ZZZ999999999999"
    )
    reader = PdfReader(
        BytesIO(render_mandate_pdf(make_document(creditor=creditor), make_branding()))
    )
    assert len(reader.pages) == 1


@given(st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", fullmatch=True))
def test_iban_is_grouped_in_fours(iban):
    grouped = group_iban(iban)
    assert grouped.replace(" ", "") == iban
    assert all(len(group) == 4 for group in grouped.split(" ")[:-1])
    assert 1 <= len(grouped.split(" ")[-1]) <= 4


def test_iban_grouping_ignores_existing_spaces_and_case():
    assert group_iban("nl91 abna0417164300") == "NL91 ABNA 0417 1643 00"


def _debtor_address_cell(html: str) -> str:
    debtor = html.split("<h2>", 3)[2]  # after the creditor's box
    cells = re.findall(r"<dt>[^<]*</dt>\s*<dd[^>]*>(.*?)</dd>", debtor, re.DOTALL)
    return cells[1]  # name, address, IBAN, BIC


def test_a_debtor_without_an_address_shows_no_bare_country(make_document, make_branding):
    doc = make_document(debtor=Debtor(name="Jan de Vries", address_lines=(), country=None,
                                      iban="NL91ABNA0417164300"))
    assert _debtor_address_cell(render_mandate_html(doc, make_branding())).strip() == "—"


def test_a_debtor_address_shows_the_parts_that_are_known(make_document, make_branding):
    doc = make_document(debtor=Debtor(name="Jan de Vries", address_lines=("Kerkweg 3", " "),
                                      country=None, iban="NL91ABNA0417164300"))
    assert _debtor_address_cell(render_mandate_html(doc, make_branding())) == "Kerkweg 3"
    doc = make_document(debtor=Debtor(name="Jan de Vries", address_lines=("Rue Haute 1",),
                                      country="BE", iban="NL91ABNA0417164300"))
    assert _debtor_address_cell(render_mandate_html(doc, make_branding())) == "Rue Haute 1<br>BE"
