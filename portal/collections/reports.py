"""Reading banks' reports on collections, streaming: pain.002 status reports, camt.054 debit
notifications, and a simple CSV for banks without XML.

Each reader yields one :class:`ReportLine` per transaction as it is parsed and forgets it, so
a file with 100,000 entries reads in constant memory. XML is parsed with entity resolution,
DTD loading and network access off, and a document with a DOCTYPE is refused outright (no
entity expansion, no external fetches, no billion laughs). Framework-free.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

__all__ = [
    "ReportError",
    "ReportLine",
    "detect_format",
    "read_report",
]

#: How much of a file's start is inspected for its kind and a DOCTYPE.
_HEAD = 65536
_NAMESPACE = re.compile(rb'xmlns(?::\w+)?="urn:iso:std:iso:20022:tech:xsd:(pain\.002|camt\.054)'
                        rb'\.\d{3}\.\d{2}"')
CSV_COLUMNS = ("end_to_end_id", "status", "reason_code", "reason_text")
CSV_STATUSES = ("collected", "rejected", "returned", "refunded")


class ReportError(ValueError):
    """The file is not a report the portal can read; the message says where and why."""


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One transaction's outcome as the bank reports it.

    ``scope`` is ``transaction`` for a line about one EndToEndId, or ``payment`` / ``group``
    when a pain.002 rejects a whole PmtInf (``reference`` is its PmtInfId) or the whole
    message (``reference`` is its MsgId)."""

    position: int
    end_to_end_id: str | None
    #: collected, rejected, returned, refunded, or accepted (no change yet).
    outcome: str
    reason_code: str | None = None
    reason_text: str | None = None
    amount_cents: int | None = None
    scope: str = "transaction"
    reference: str | None = None


def detect_format(path: Path) -> str:
    """``pain.002``, ``camt.054`` or ``csv`` from the file's first bytes."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"<"):
        _refuse_doctype(head)
        match = _NAMESPACE.search(head)
        if match is None:
            raise ReportError("an XML file that is neither a pain.002 nor a camt.054 "
                              "(ISO 20022 namespace not found)")
        return match.group(1).decode()
    first_line = stripped.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    if "end_to_end_id" in first_line:
        return "csv"
    raise ReportError("not a pain.002, camt.054 or CSV report (a CSV needs the header "
                      f"{','.join(CSV_COLUMNS)})")


def read_report(path: Path, kind: str | None = None) -> tuple[str, Iterator[ReportLine]]:
    """The report's kind and a lazy iterator over its lines (raising ReportError mid-way when
    the file turns out malformed)."""
    kind = kind or detect_format(path)
    readers = {"pain.002": _read_pain002, "camt.054": _read_camt054, "csv": _read_csv}
    return kind, readers[kind](path)


def message_id_of(path: Path) -> str | None:
    """GrpHdr/MsgId of an XML report (read from its start only)."""
    for _event, element in _iterparse(path, ("end",), "{*}MsgId"):
        return (element.text or "").strip()[:35] or None
    return None


def _refuse_doctype(head: bytes) -> None:
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise ReportError("XML with a DOCTYPE or entity declarations is refused")


def _iterparse(path: Path, events: tuple[str, ...], tag: str | tuple[str, ...]
               ) -> Iterator[tuple[str, etree._Element]]:
    with path.open("rb") as handle:
        _refuse_doctype(handle.read(_HEAD))
    try:
        context = etree.iterparse(str(path), events=events, tag=tag, resolve_entities=False,
                                  no_network=True, load_dtd=False, huge_tree=False,
                                  remove_comments=True, remove_pis=True)
        for event, element in context:
            if context.root is not None and context.root.getroottree().docinfo.doctype:
                raise ReportError("XML with a DOCTYPE is refused")
            yield event, element
    except etree.XMLSyntaxError as exc:
        raise ReportError(f"malformed XML: {exc.msg}") from None


def _drop(element: etree._Element) -> None:
    """Forget a parsed subtree and the siblings before it (constant memory)."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _path(names: tuple[str, ...]) -> str:
    """An ElementPath through local names, whatever the namespace (lxml's ``{*}``)."""
    return "/".join(f"{{*}}{name}" for name in names)


def _child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first descendant along ``path`` of local names, whatever the namespace."""
    return None if element is None else element.find(_path(path))


def _text(element: etree._Element | None, *path: str) -> str | None:
    found = _child(element, *path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _all_text(element: etree._Element | None, *path: str) -> str | None:
    """Every repetition of the last element on ``path`` joined (AddtlInf may repeat)."""
    if element is None:
        return None
    parts = [" ".join(found.text.split()) for found in element.iterfind(_path(path))
             if found.text]
    return " ".join(parts) or None


def _cents(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ReportError(f"not an amount: {text[:20]!r}") from None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise ReportError(f"not an amount in cents: {text[:20]!r}")
    return int(value * 100)


def _read_pain002(path: Path) -> Iterator[ReportLine]:
    position = 0
    in_payment = 0  # transactions reported inside the current OrgnlPmtInfAndSts
    group_rejected: tuple[str | None, str | None, str | None] | None = None
    tags = ("{*}OrgnlGrpInfAndSts", "{*}OrgnlPmtInfAndSts", "{*}TxInfAndSts")
    for _event, element in _iterparse(path, ("end",), tags):
        name = _local(element)
        if name == "TxInfAndSts":
            position += 1
            in_payment += 1
            status = (_text(element, "TxSts") or "").upper()
            outcome = {"RJCT": "rejected", "ACSC": "collected"}.get(status, "accepted")
            yield ReportLine(
                position=position, end_to_end_id=_text(element, "OrgnlEndToEndId"),
                outcome=outcome, reason_code=_text(element, "StsRsnInf", "Rsn", "Cd"),
                reason_text=_all_text(element, "StsRsnInf", "AddtlInf"),
                amount_cents=_cents(_text(element, "OrgnlTxRef", "Amt", "InstdAmt")))
            _drop(element)
        elif name == "OrgnlPmtInfAndSts":
            if (_text(element, "PmtInfSts") or "").upper() == "RJCT" and in_payment == 0:
                position += 1
                yield ReportLine(position=position, end_to_end_id=None, outcome="rejected",
                                 reason_code=_text(element, "StsRsnInf", "Rsn", "Cd"),
                                 reason_text=_all_text(element, "StsRsnInf", "AddtlInf"),
                                 scope="payment", reference=_text(element, "OrgnlPmtInfId"))
            in_payment = 0
            _drop(element)
        elif (_text(element, "GrpSts") or "").upper() == "RJCT":
            # A whole-message rejection: applies when no PmtInf or transaction says more.
            group_rejected = (_text(element, "OrgnlMsgId"),
                              _text(element, "StsRsnInf", "Rsn", "Cd"),
                              _all_text(element, "StsRsnInf", "AddtlInf"))
    if group_rejected is not None and position == 0:
        message_id, code, text = group_rejected
        yield ReportLine(position=1, end_to_end_id=None, outcome="rejected", reason_code=code,
                         reason_text=text, scope="group", reference=message_id)


def _read_camt054(path: Path) -> Iterator[ReportLine]:
    position = 0
    for _event, element in _iterparse(path, ("end",), ("{*}TxDtls", "{*}Ntry")):
        if _local(element) == "Ntry":
            _drop(element)
            continue
        position += 1
        entry = element.getparent().getparent() if element.getparent() is not None else None
        direction = (_text(entry, "CdtDbtInd") or "").upper()
        code = _text(element, "RtrInf", "Rsn", "Cd")
        if code or direction == "DBIT":
            outcome = "refunded" if code == "MD06" else "returned"
        else:
            outcome = "collected"
        amount = (_text(element, "AmtDtls", "TxAmt", "Amt") or _text(element, "Amt"))
        yield ReportLine(
            position=position, end_to_end_id=_text(element, "Refs", "EndToEndId"),
            outcome=outcome, reason_code=code,
            reason_text=_all_text(element, "RtrInf", "AddtlInf"), amount_cents=_cents(amount))
        element.clear(keep_tail=True)


def _read_csv(path: Path) -> Iterator[ReportLine]:
    with path.open("rb") as raw:
        sample = raw.read(4096).lstrip(codecs.BOM_UTF8)
    delimiter = ";" if sample.split(b"\n", 1)[0].count(b";") > sample.split(b"\n", 1)[0].count(
        b",") else ","
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            raise ReportError("the CSV is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ReportError(f"unreadable CSV: {exc}") from None
        missing = [c for c in ("end_to_end_id", "status") if c not in header]
        if missing:
            raise ReportError(f"the CSV header lacks {', '.join(missing)} (columns: "
                              f"{','.join(CSV_COLUMNS)})")
        index = {name: header.index(name) for name in CSV_COLUMNS if name in header}
        try:
            for number, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue

                def cell(name: str, row: list[str] = row) -> str | None:
                    at = index.get(name)
                    value = row[at].strip() if at is not None and at < len(row) else ""
                    return value or None

                status = (cell("status") or "").lower()
                if status not in CSV_STATUSES:
                    raise ReportError(f"line {number}: status must be one of "
                                      f"{', '.join(CSV_STATUSES)}, not {status[:20]!r}")
                code = cell("reason_code")
                if status != "collected" and code is not None and not re.fullmatch(
                        r"[A-Z0-9]{4}", code):
                    raise ReportError(f"line {number}: {code[:20]!r} is not a reason code")
                yield ReportLine(position=number, end_to_end_id=cell("end_to_end_id"),
                                 outcome=status, reason_code=code,
                                 reason_text=cell("reason_text"))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ReportError(f"unreadable CSV: {exc}") from None

