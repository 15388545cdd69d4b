"""A streaming camt.054.001.02 writer (bank-to-customer debit/credit notification): what the
sandbox bank sends back after clearing a pain.008 file, one entry per collection — a credit for
each collected debit, a debit entry with the return reason for each one that came back.
Framework-free; ``bench/returns.py`` uses it to make a 100,000-entry file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from lxml import etree

from portal.collections.pain008 import format_amount

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"
_SubElement = etree.SubElement


@dataclass(frozen=True, slots=True)
class CamtEntry:
    end_to_end_id: str
    mandate_id: str
    amount_cents: int
    booked_on: date
    #: None when the collection was paid; else the return reason (AM04, AC04, MD06, …).
    reason_code: str | None = None
    reason_text: str | None = None


def _entry(entry: CamtEntry, number: int) -> etree._Element:
    returned = entry.reason_code is not None
    element = etree.Element("Ntry")
    _SubElement(element, "NtryRef").text = str(number)
    _SubElement(element, "Amt", Ccy="EUR").text = format_amount(entry.amount_cents)
    _SubElement(element, "CdtDbtInd").text = "DBIT" if returned else "CRDT"
    _SubElement(element, "Sts").text = "BOOK"
    _SubElement(_SubElement(element, "BookgDt"), "Dt").text = entry.booked_on.isoformat()
    _SubElement(_SubElement(element, "ValDt"), "Dt").text = entry.booked_on.isoformat()
    code = _SubElement(element, "BkTxCd")
    domain = _SubElement(code, "Domn")
    _SubElement(domain, "Cd").text = "PMNT"
    family = _SubElement(domain, "Fmly")
    _SubElement(family, "Cd").text = "IDDT"
    _SubElement(family, "SubFmlyCd").text = "UPDD" if returned else "ESDD"
    details = _SubElement(_SubElement(element, "NtryDtls"), "TxDtls")
    references = _SubElement(details, "Refs")
    _SubElement(references, "EndToEndId").text = entry.end_to_end_id
    _SubElement(references, "MndtId").text = entry.mandate_id
    _SubElement(_SubElement(_SubElement(details, "AmtDtls"), "TxAmt"), "Amt",
                Ccy="EUR").text = format_amount(entry.amount_cents)
    if returned:
        information = _SubElement(details, "RtrInf")
        _SubElement(_SubElement(information, "Rsn"), "Cd").text = entry.reason_code
        if entry.reason_text:
            _SubElement(information, "AddtlInf").text = entry.reason_text[:105]
    return element


def write_camt054(out: BinaryIO, *, message_id: str, created_at: datetime, account_iban: str,
                  entries: Iterable[CamtEntry]) -> int:
    """Write the notification to ``out``; returns how many entries it holds."""
    count = 0
    with etree.xmlfile(out, encoding="UTF-8", buffered=True) as xf:
        xf.write_declaration()
        document = xf.element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
        with document, xf.element("BkToCstmrDbtCdtNtfctn"):
            header = etree.Element("GrpHdr")
            _SubElement(header, "MsgId").text = message_id
            _SubElement(header, "CreDtTm").text = created_at.strftime("%Y-%m-%dT%H:%M:%S")
            xf.write(header)
            with xf.element("Ntfctn"):
                for tag, text in (("Id", message_id),
                                  ("CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))):
                    element = etree.Element(tag)
                    element.text = text
                    xf.write(element)
                account = etree.Element("Acct")
                _SubElement(_SubElement(account, "Id"), "IBAN").text = account_iban
                xf.write(account)
                for entry in entries:
                    count += 1
                    xf.write(_entry(entry, count))
    return count
