"""Hardened XML for eMandates: parse with entities, DTDs and the network off, within a size
limit, and validate every message against the shipped schemas (iDx, pain.009–012, XML-DSig)."""

from __future__ import annotations

import threading
from importlib.resources import files
from pathlib import Path

from lxml import etree

__all__ = [
    "MAX_MESSAGE_BYTES",
    "NS",
    "XmlRefused",
    "find_text",
    "parse_message",
    "qname",
    "serialize",
    "validate_message",
]

#: The largest message accepted; a status response with a signed pain.012 is about 12 KiB.
MAX_MESSAGE_BYTES = 256 * 1024

#: Namespaces by short name.
NS = {
    "idx": "http://www.betaalvereniging.nl/iDx/messages/Merchant-Acquirer/1.0.0",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "pain009": "urn:iso:std:iso:20022:tech:xsd:pain.009.001.04",
    "pain010": "urn:iso:std:iso:20022:tech:xsd:pain.010.001.04",
    "pain011": "urn:iso:std:iso:20022:tech:xsd:pain.011.001.04",
    "pain012": "urn:iso:std:iso:20022:tech:xsd:pain.012.001.04",
}

SCHEMA_FOLDER = Path(str(files("portal.banks") / "schemas"))
_local = threading.local()


class XmlRefused(ValueError):
    """The bytes are not a message we accept: too large, not XML, with a DTD or entities, or
    invalid against the schemas. The message says which, never echoing the content."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=False,
                           remove_pis=True, collect_ids=False)


def parse_message(data: bytes) -> etree._Element:
    """The root of a message; refuses DTDs outright (so no entity bomb or external entity ever
    reaches the tree), oversized input and anything that is not well-formed."""
    if not isinstance(data, bytes):
        raise XmlRefused("a message must be bytes")
    if len(data) > MAX_MESSAGE_BYTES:
        raise XmlRefused(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlRefused("message carries a document type declaration (DTDs are refused)")
    if not head.startswith(b"<"):
        raise XmlRefused("message is not XML")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(f"message is not well-formed XML: {exc.msg[:120]}") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise XmlRefused("message carries a document type declaration (DTDs are refused)")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise XmlRefused("message contains entity references")
    return root


def _schema() -> etree.XMLSchema:
    """The schema set, one per thread (lxml validators are not meant to be shared)."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        document = etree.parse(str(SCHEMA_FOLDER / "emandates.xsd"), parser=_parser())
        schema = etree.XMLSchema(document)
        _local.schema = schema
    return schema


def validate_message(root: etree._Element) -> None:
    """Raise XmlRefused unless the element (an iDx message or a pain document) is valid."""
    schema = _schema()
    if not schema.validate(root):
        error = schema.error_log.last_error
        where = f"line {error.line}: " if error is not None and error.line else ""
        message = error.message if error is not None else "invalid"
        raise XmlRefused(f"message does not match the eMandates schemas: {where}{message[:200]}")


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, as sent on the wire."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def qname(prefix: str, name: str) -> str:
    """``{namespace}name`` for a short namespace name."""
    return f"{{{NS[prefix]}}}{name}"


def find_text(element: etree._Element, path: str, namespaces: dict[str, str] | None = None
              ) -> str | None:
    """The stripped text at a path (``idx:Transaction/idx:status``), None when absent."""
    found = element.find(path, namespaces or NS)
    if found is None or found.text is None:
        return None
    return found.text.strip()
