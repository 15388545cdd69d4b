"""Extra files sealed with the mandate (a bank's pain.012 later), handed back by verify()."""

from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils.embed import EmbeddedFileObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import (
    Attachment,
    AttachmentError,
    FileSystemPdfStore,
    produce_signed_mandate,
    seal_pdf,
    verify,
)

ACCEPTANCE_REPORT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.012.001.04">'
    b"<MndtAccptncRpt><GrpHdr><MsgId>ACCEPT-0001</MsgId></GrpHdr></MndtAccptncRpt>"
    b"</Document>\n")


def _acceptance(**overrides: object) -> Attachment:
    fields = {"name": "pain.012.xml", "data": ACCEPTANCE_REPORT,
              "mime_type": "application/xml",
              "description": "Mandate acceptance report signed by the debtor's bank",
              "relationship": "Source"}
    fields.update(overrides)
    return Attachment(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sealed_with_report(unsealed_pdf, sealer, make_document, make_evidence) -> bytes:
    return seal_pdf(unsealed_pdf, make_evidence(make_document()), sealer,
                    attachments=[_acceptance()])


def test_verify_hands_back_every_sealed_attachment_byte_for_byte(sealed_with_report, trust):
    report = verify(sealed_with_report, trust)
    assert report.ok, report.reasons
    assert sorted(report.attachments) == ["evidence.json", "pain.012.xml"]
    assert report.attachments["pain.012.xml"] == _acceptance()
    evidence = report.attachments["evidence.json"]
    assert evidence.mime_type == "application/json" and evidence.relationship == "Supplement"


def test_attachments_are_pdfa3_associated_files_in_a_sorted_name_tree(sealed_with_report):
    root = PdfFileReader(BytesIO(sealed_with_report)).root
    specs = [spec.get_object() for spec in root["/AF"]]
    assert {str(spec["/UF"]): str(spec["/AFRelationship"]) for spec in specs} == {
        "evidence.json": "/Supplement", "pain.012.xml": "/Source"}
    for spec in specs:
        assert spec["/F"] == spec["/UF"] and spec["/Desc"]
        stream = spec["/EF"]["/F"]
        assert "/ModDate" in stream["/Params"] and "/Subtype" in stream
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert [str(names[i]) for i in range(0, len(names), 2)] == ["evidence.json", "pain.012.xml"]


def test_an_attachment_replaced_after_sealing_is_reported(sealed_with_report, trust):
    writer = IncrementalPdfFileWriter(BytesIO(sealed_with_report))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[3]
    forged = EmbeddedFileObject.from_file_data(writer, b"<Document>forged</Document>",
                                               mime_type="application/xml")
    spec["/EF"]["/F"] = forged.ef_stream_ref
    writer.update_container(spec)
    out = BytesIO()
    writer.write(out)

    report = verify(out.getvalue(), trust)
    assert not report.ok
    assert "embedded pain.012.xml was changed after sealing" in report.reasons
    assert report.attachments["pain.012.xml"].data == ACCEPTANCE_REPORT  # the sealed one


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "../pain.012.xml"}, "not a plain file name"),
    ({"name": ""}, "not a plain file name"),
    ({"mime_type": "xml"}, "no valid MIME type"),
    ({"relationship": "Evidence"}, "relationship must be one of"),
    ({"data": "<Document/>"}, "data must be bytes"),
])
def test_an_attachment_that_cannot_be_sealed_is_refused(change, message):
    with pytest.raises(AttachmentError, match=message):
        _acceptance(**change)


@pytest.mark.parametrize("attachments", [
    [_acceptance(), _acceptance(description="again")],
    [_acceptance(name="evidence.json")],
], ids=["duplicate", "evidence-is-the-portals"])
def test_conflicting_names_are_refused_before_anything_is_sealed(
        attachments, unsealed_pdf, sealer, make_document, make_evidence):
    with pytest.raises(AttachmentError):
        seal_pdf(unsealed_pdf, make_evidence(make_document()), sealer, attachments=attachments)


def test_the_pipeline_seals_and_stores_the_attachments(
        tmp_path, sealer, trust, make_document, make_evidence, make_branding):
    doc = make_document()
    signed = produce_signed_mandate(doc, make_branding(), make_evidence(doc), sealer,
                                    FileSystemPdfStore(tmp_path), attachments=[_acceptance()])
    assert verify(signed.pdf, trust).attachments["pain.012.xml"].data == ACCEPTANCE_REPORT
