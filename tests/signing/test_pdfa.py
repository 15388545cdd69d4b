"""The mandate PDF is archival (PDF/A-3b), tagged, and stays so through the seal's updates.

veraPDF, the reference PDF/A validator, is a Java application that is not packaged on PyPI or
in Debian, so these tests check the structural requirements of ISO 19005-3 directly: the file
header and catalog version, XMP identification and its agreement with the Info dictionary,
the output intent, embedded fonts, associated files, printable annotations, no encryption;
plus the tagging that WeasyPrint provides (structure tree, marked content, language).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
      "pdfaid": "http://www.aiim.org/pdfa/ns/id/", "pdf": "http://ns.adobe.com/pdf/1.3/",
      "dc": "http://purl.org/dc/elements/1.1/"}
ANNOTATION_PRINT, ANNOTATION_FORBIDDEN = 4, 1 | 2 | 32  # Print; Invisible, Hidden, NoView


@pytest.fixture(scope="module", params=["unsealed", "sealed"])
def pdf(request, unsealed_pdf, sealed_pdf) -> bytes:
    return {"unsealed": unsealed_pdf, "sealed": sealed_pdf}[request.param]


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(BytesIO(pdf), strict=False)


def _xmp_values(root: generic.DictionaryObject, reader: PdfFileReader | None = None,
                revision: int | None = None) -> dict[str, str]:
    if reader is None:
        data = root["/Metadata"].data
    else:  # that revision's own XMP stream
        data = reader.get_object(root.raw_get("/Metadata").reference, revision=revision).data
    xmp = ET.fromstring(data.decode("utf-8"))
    values: dict[str, str] = {}
    for description in xmp.iter(f"{{{NS['rdf']}}}Description"):
        for key, value in description.attrib.items():
            values[key] = value
        for child in description:
            texts = [li.text or "" for li in child.iter(f"{{{NS['rdf']}}}li")]
            values[child.tag] = texts[0] if texts else (child.text or "")
    return values


def test_header_and_catalog_agree_on_pdf_1_7(pdf):
    assert pdf.startswith(b"%PDF-1.7\n")
    root = _reader(pdf).root
    assert root.get("/Version") in (None, "/1.7")
    assert "/ISO_" not in root.get("/Extensions", {})  # no PDF 2.0 extension was declared


def test_xmp_identifies_pdfa_3b_and_agrees_with_the_info_dictionary(pdf):
    reader = _reader(pdf)
    values = _xmp_values(reader.root)
    assert values[f"{{{NS['pdfaid']}}}part"] == "3"
    assert values[f"{{{NS['pdfaid']}}}conformance"] == "B"
    info = reader.trailer["/Info"]
    assert values[f"{{{NS['pdf']}}}Producer"] == str(info["/Producer"])
    assert values[f"{{{NS['dc']}}}title"] == str(info["/Title"])
    assert values[f"{{{NS['dc']}}}creator"] == str(info["/Author"])


def test_an_srgb_output_intent_is_embedded(pdf):
    (intent,) = _reader(pdf).root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"]
    assert profile["/N"] == 3 and profile.data[36:40] == b"acsp"  # an ICC profile


def test_every_font_is_embedded(pdf):
    fonts = []
    for page in _reader(pdf).root["/Pages"]["/Kids"]:
        for font in page.get_object()["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.extend(d.get_object() for d in font.get("/DescendantFonts", [font]))
    assert fonts
    for font in fonts:
        descriptor = font["/FontDescriptor"]
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]


def test_the_pdf_is_tagged_for_accessibility_with_its_language(pdf):
    root = _reader(pdf).root
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root and root["/StructTreeRoot"]["/K"]
    assert root["/Lang"] == "nl"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])


def test_no_encryption_and_a_file_identifier(pdf):
    trailer = _reader(pdf).trailer
    assert "/Encrypt" not in trailer and len(trailer["/ID"]) == 2


def test_the_sealed_pdf_associates_the_evidence_and_keeps_annotations_printable(sealed_pdf):
    reader = _reader(sealed_pdf)
    (spec,) = [s.get_object() for s in reader.root["/AF"]]
    assert spec["/UF"] == "evidence.json" and spec["/AFRelationship"] == "/Supplement"
    annotations = [a.get_object() for page in reader.root["/Pages"]["/Kids"]
                   for a in page.get_object().get("/Annots", [])]
    assert annotations  # the seal's widget
    for annotation in annotations:
        flags = int(annotation.get("/F", 0))
        assert flags & ANNOTATION_PRINT and not flags & ANNOTATION_FORBIDDEN


def test_every_revision_of_the_sealed_pdf_keeps_the_pdfa_claim(sealed_pdf):
    reader = _reader(sealed_pdf)
    revisions = reader.xrefs.total_revisions
    assert revisions >= 3  # render, seal, archive timestamp (and its validation data)
    for revision in range(revisions):
        root = reader.get_historical_root(revision)
        assert root.get("/Version") in (None, "/1.7")
        assert _xmp_values(root, reader, revision)[f"{{{NS['pdfaid']}}}part"] == "3"
    assert len(re.findall(rb"%PDF-", sealed_pdf)) == 1
