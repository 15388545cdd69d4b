"""Files sealed inside the mandate PDF as PDF/A-3 associated files (``/AF``).

evidence.json is one; a bank's signed acceptance report (``pain.012``) can be another. Each is
an embedded file with its MIME type, a description and its relationship to the document, listed
both in the ``/EmbeddedFiles`` name tree (what viewers show) and in the catalog's ``/AF`` array
(what PDF/A-3 requires), so the seal covers every byte of every attachment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

#: PDF/A-3's AFRelationship values (ISO 19005-3, annex E).
RELATIONSHIPS = ("Source", "Data", "Alternative", "Supplement", "Unspecified")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_MAX_NAME = 120


class AttachmentError(ValueError):
    """An attachment cannot be sealed as given."""


@dataclass(frozen=True)
class Attachment:
    """A file sealed with the mandate; `name` is what a PDF viewer lists."""

    name: str
    data: bytes
    mime_type: str
    description: str
    relationship: str = "Supplement"

    def __post_init__(self) -> None:
        if (not self.name or len(self.name) > _MAX_NAME or self.name != self.name.strip()
                or any(char in self.name for char in "/\\:") or not self.name.isprintable()):
            raise AttachmentError(f"attachment name {self.name!r} is not a plain file name")
        if not isinstance(self.data, bytes):
            raise AttachmentError(f"attachment {self.name} data must be bytes")
        if not _MIME_TYPE.fullmatch(self.mime_type):
            raise AttachmentError(f"attachment {self.name} has no valid MIME type: "
                                  f"{self.mime_type!r}")
        if self.relationship not in RELATIONSHIPS:
            raise AttachmentError(f"attachment {self.name} relationship must be one of "
                                  f"{RELATIONSHIPS}, got {self.relationship!r}")


def require_unique_names(attachments: Sequence[Attachment]) -> None:
    names = [attachment.name for attachment in attachments]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AttachmentError(f"attachment names must be unique: {', '.join(duplicates)}")


def embed_associated_files(writer: IncrementalPdfFileWriter, attachments: Sequence[Attachment],
                           when: datetime) -> None:
    """Add `attachments` to the name tree and the catalog's /AF, keeping the PDF version.

    pyHanko's ``embed_file`` marks a file with an AF relationship as PDF 2.0; PDF/A-3 defines
    /AF for PDF 1.7 files, so the entries are written here without touching the version.
    """
    require_unique_names(attachments)
    root = writer.root
    if "/Names" in root:
        names_dict = root["/Names"]
        writer.update_container(names_dict)  # its /EmbeddedFiles entry changes
    else:
        names_dict = generic.DictionaryObject()
        root["/Names"] = writer.add_object(names_dict)
    pairs: list[tuple[str, generic.PdfObject]] = []
    if "/EmbeddedFiles" in names_dict:
        existing = names_dict["/EmbeddedFiles"]
        if "/Kids" in existing:
            raise AttachmentError("the PDF already has a nested embedded-file tree")
        flat = existing["/Names"] if "/Names" in existing else generic.ArrayObject()
        pairs = [(str(flat[i]), flat.raw_get(i + 1)) for i in range(0, len(flat) - 1, 2)]
    associated = root["/AF"] if "/AF" in root else generic.ArrayObject()
    associated = generic.ArrayObject(associated.raw_get(i) for i in range(len(associated)))

    for attachment in attachments:
        if any(name == attachment.name for name, _ in pairs):
            raise AttachmentError(f"the PDF already has an attachment named {attachment.name}")
        stream = EmbeddedFileObject.from_file_data(
            writer, attachment.data, compress=False, mime_type=attachment.mime_type,
            params=EmbeddedFileParams(creation_date=when, modification_date=when))
        spec = FileSpec(file_spec_string=attachment.name, file_name=attachment.name,
                        embedded_data=stream, description=attachment.description,
                        af_relationship=generic.NameObject("/" + attachment.relationship))
        reference = writer.add_object(spec.as_pdf_object())
        pairs.append((attachment.name, reference))
        associated.append(reference)

    pairs.sort(key=lambda pair: pair[0])  # a name tree's keys are sorted (ISO 32000-1, 7.9.6)
    flat_names = generic.ArrayObject()
    for name, value in pairs:
        flat_names.append(generic.pdf_string(name))
        flat_names.append(value)
    names_dict["/EmbeddedFiles"] = writer.add_object(
        generic.DictionaryObject({generic.NameObject("/Names"): flat_names}))
    root["/AF"] = writer.add_object(associated)
    writer.update_root()


def read_associated_files(root: generic.DictionaryObject) -> dict[str, Attachment]:
    """The embedded files named in `root`'s name tree, with what their file specs say."""
    found: dict[str, Attachment] = {}
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except (KeyError, TypeError):
        return found
    for name, spec in _name_tree_items(tree.get_object(), depth=0):
        try:
            spec = spec.get_object()
            stream = spec["/EF"]["/F"].get_object()
            data = stream.data
            subtype = stream.get("/Subtype")
        except (KeyError, TypeError, AttributeError):
            continue
        mime = _decode_mime(subtype)
        relationship = str(spec.get("/AFRelationship", "/Unspecified")).lstrip("/")
        try:
            found[name] = Attachment(
                name=name, data=data, mime_type=mime or "application/octet-stream",
                description=str(spec.get("/Desc", "")),
                relationship=relationship if relationship in RELATIONSHIPS else "Unspecified")
        except AttachmentError:
            continue  # a file we did not seal (odd name); reported by comparison elsewhere
    return found


def _decode_mime(subtype: object) -> str | None:
    if subtype is None:
        return None
    text = str(subtype).lstrip("/")
    return re.sub(r"#([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text).lower()


def _name_tree_items(node: generic.DictionaryObject, depth: int
                     ) -> list[tuple[str, generic.PdfObject]]:
    if depth > 16:
        return []
    items: list[tuple[str, generic.PdfObject]] = []
    if "/Names" in node:
        names = node["/Names"]
        items.extend((str(names[i]), names.raw_get(i + 1)) for i in range(0, len(names) - 1, 2))
    # Indexing, unlike .get(), makes pyHanko dereference indirect objects.
    for kid in node["/Kids"] if "/Kids" in node else ():  # noqa: SIM401
        items.extend(_name_tree_items(kid.get_object(), depth + 1))
    return items
