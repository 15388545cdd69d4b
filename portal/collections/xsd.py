"""Validating pain.008 files against the official ISO 20022 XSDs, streaming.

The schemas are the ones the ``sepaxml`` package ships (ISO 20022 message schemas); they are
read from the installed package rather than copied, so their provenance stays with it. A file
is validated by libxml2 while lxml's ``iterparse`` reads it, and each transaction is dropped
once parsed, so a 100,000-debit file validates in constant memory.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from lxml import etree

from portal.collections.pain008 import VERSIONS, namespace

__all__ = ["InvalidDocument", "schema_for", "validate_pain008"]


class InvalidDocument(ValueError):
    """The file does not conform to its XSD; the message names the first error and its line."""


@lru_cache(maxsize=len(VERSIONS))
def schema_for(version: str) -> etree.XMLSchema:
    """The parsed XSD of a pain.008 version, loaded once per process."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported pain.008 version {version!r}")
    source = files("sepaxml").joinpath("schemas", f"{version}.xsd")
    with source.open("rb") as handle:
        return etree.XMLSchema(etree.parse(handle, etree.XMLParser(resolve_entities=False,
                                                                   no_network=True)))


def validate_pain008(path: Path, version: str) -> int:
    """Validate the file at ``path``; returns how many transactions it holds, or raises
    :class:`InvalidDocument`."""
    tag = f"{{{namespace(version)}}}DrctDbtTxInf"
    count = 0
    try:
        for _event, element in etree.iterparse(
                str(path), events=("end",), tag=tag, schema=schema_for(version),
                resolve_entities=False, no_network=True, huge_tree=False):
            count += 1
            element.clear(keep_tail=True)
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.error_log.last_error.line if exc.error_log else 0)
        raise InvalidDocument(f"{version}: {exc.msg} (line {line})") from None
    return count
