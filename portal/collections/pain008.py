"""A streaming pain.008 writer (001.02 and 001.08) on lxml's incremental ``xmlfile``.

The file is written as it is read: the group header and each PmtInf header come from totals
known beforehand (a GROUP BY over the debits), then every transaction is built as a small
subtree and handed to ``xmlfile`` one at a time, so memory stays flat however many debits a
batch holds. The totals declared up front are checked against what was actually written;
a mismatch aborts the file. Framework-free: the exporter and ``bench/pain008.py`` both use it.

Transactions are built without a namespace and written inside the ``Document`` element that
declares the message's default namespace; ``xmlfile`` serialises them without re-declaring
it, which keeps both the file and the writer lean. Every file is validated against the XSD
afterwards (:mod:`portal.collections.xsd`), which would catch any element outside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from lxml import etree

__all__ = [
    "Amendment",
    "ControlSumMismatch",
    "Creditor",
    "PaymentGroup",
    "Transaction",
    "format_amount",
    "namespace",
    "write_pain008",
]

VERSIONS = ("pain.008.001.02", "pain.008.001.08")
_SubElement = etree.SubElement
_Element = etree.Element


def namespace(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"unsupported pain.008 version {version!r}")
    return f"urn:iso:std:iso:20022:tech:xsd:{version}"


def format_amount(cents: int) -> str:
    """Integer cents as the decimal text ISO 20022 wants: 1234 → "12.34"."""
    if cents < 0:
        raise ValueError("amounts are never negative")
    return f"{cents // 100}.{cents % 100:02d}"


class Sink(Protocol):
    """Where the XML goes: a binary file, or anything with its ``write``."""

    def write(self, data: bytes, /) -> int: ...


class ControlSumMismatch(ValueError):
    """What was written differs from the totals declared in a header."""


@dataclass(frozen=True, slots=True)
class Creditor:
    name: str
    iban: str
    bic: str | None
    #: The SEPA creditor identifier, written in every PmtInf.
    creditor_id: str
    country: str | None = None
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Amendment:
    """What changed on the mandate since the last collection (AmdmntInfDtls)."""

    original_mandate_id: str | None = None
    original_creditor_id: str | None = None
    #: The previous IBAN, when the account changed within the same bank.
    original_iban: str | None = None
    #: The account moved to another bank: OrgnlDbtrAgt is ``SMNDA``.
    new_debtor_agent: bool = False


@dataclass(frozen=True, slots=True)
class Transaction:
    end_to_end_id: str
    amount_cents: int
    mandate_id: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    remittance: str
    amendment: Amendment | None = None
    #: The eMandates validation reference of a bank-signed mandate (ElctrncSgntr).
    electronic_signature: str | None = None
    debtor_country: str | None = None
    debtor_address_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaymentGroup:
    """One PmtInf: a scheme, sequence type and collection date; ``count`` and ``sum_cents``
    are the totals of ``transactions``, known before they are read."""

    payment_id: str
    scheme: str
    sequence_type: str
    collection_date: date
    count: int
    sum_cents: int
    transactions: Iterable[Transaction]


class _Writer:
    def __init__(self, version: str) -> None:
        self.version = version
        self.bic_tag = "BICFI" if version == "pain.008.001.08" else "BIC"

    def agent(self, parent: etree._Element, tag: str, bic: str | None) -> None:
        institution = _SubElement(_SubElement(parent, tag), "FinInstnId")
        if bic:
            _SubElement(institution, self.bic_tag).text = bic
        else:
            _SubElement(_SubElement(institution, "Othr"), "Id").text = "NOTPROVIDED"

    @staticmethod
    def party(parent: etree._Element, tag: str, name: str, country: str | None,
              lines: tuple[str, ...]) -> None:
        party = _SubElement(parent, tag)
        _SubElement(party, "Nm").text = name
        if country:
            address = _SubElement(party, "PstlAdr")
            _SubElement(address, "Ctry").text = country
            for line in lines[:2]:
                _SubElement(address, "AdrLine").text = line

    @staticmethod
    def account(parent: etree._Element, tag: str, iban: str) -> None:
        _SubElement(_SubElement(_SubElement(parent, tag), "Id"), "IBAN").text = iban

    @staticmethod
    def scheme_id(parent: etree._Element, tag: str, creditor_id: str) -> None:
        other = _SubElement(_SubElement(_SubElement(_SubElement(parent, tag), "Id"), "PrvtId"),
                            "Othr")
        _SubElement(other, "Id").text = creditor_id
        _SubElement(_SubElement(other, "SchmeNm"), "Prtry").text = "SEPA"

    def transaction(self, tx: Transaction) -> etree._Element:
        element = _Element("DrctDbtTxInf")
        _SubElement(_SubElement(element, "PmtId"), "EndToEndId").text = tx.end_to_end_id
        amount = _SubElement(element, "InstdAmt", Ccy="EUR")
        amount.text = format_amount(tx.amount_cents)
        mandate = _SubElement(_SubElement(element, "DrctDbtTx"), "MndtRltdInf")
        _SubElement(mandate, "MndtId").text = tx.mandate_id
        _SubElement(mandate, "DtOfSgntr").text = tx.signed_on.isoformat()
        change = tx.amendment
        if change is not None:
            _SubElement(mandate, "AmdmntInd").text = "true"
            details = _SubElement(mandate, "AmdmntInfDtls")
            if change.original_mandate_id:
                _SubElement(details, "OrgnlMndtId").text = change.original_mandate_id
            if change.original_creditor_id:
                self.scheme_id(details, "OrgnlCdtrSchmeId", change.original_creditor_id)
            if change.original_iban and not change.new_debtor_agent:
                self.account(details, "OrgnlDbtrAcct", change.original_iban)
            if change.new_debtor_agent:
                _SubElement(_SubElement(_SubElement(_SubElement(details, "OrgnlDbtrAgt"),
                                                    "FinInstnId"), "Othr"), "Id").text = "SMNDA"
        if tx.electronic_signature:
            _SubElement(mandate, "ElctrncSgntr").text = tx.electronic_signature
        self.agent(element, "DbtrAgt", tx.debtor_bic)
        self.party(element, "Dbtr", tx.debtor_name, tx.debtor_country, tx.debtor_address_lines)
        self.account(element, "DbtrAcct", tx.debtor_iban)
        _SubElement(_SubElement(element, "RmtInf"), "Ustrd").text = tx.remittance
        return element

    def group_header(self, group: PaymentGroup, creditor: Creditor) -> list[etree._Element]:
        head: list[etree._Element] = []

        def add(tag: str, text: str) -> None:
            element = _Element(tag)
            element.text = text
            head.append(element)

        add("PmtInfId", group.payment_id)
        add("PmtMtd", "DD")
        add("NbOfTxs", str(group.count))
        add("CtrlSum", format_amount(group.sum_cents))
        kind = _Element("PmtTpInf")
        _SubElement(_SubElement(kind, "SvcLvl"), "Cd").text = "SEPA"
        _SubElement(_SubElement(kind, "LclInstrm"), "Cd").text = group.scheme
        _SubElement(kind, "SeqTp").text = group.sequence_type
        head.append(kind)
        add("ReqdColltnDt", group.collection_date.isoformat())
        holder = _Element("holder")
        self.party(holder, "Cdtr", creditor.name, creditor.country, creditor.address_lines)
        self.account(holder, "CdtrAcct", creditor.iban)
        self.agent(holder, "CdtrAgt", creditor.bic)
        _SubElement(holder, "ChrgBr").text = "SLEV"
        self.scheme_id(holder, "CdtrSchmeId", creditor.creditor_id)
        head.extend(holder)
        return head


def write_pain008(out: Sink, *, version: str, message_id: str, created_at: datetime,
                  initiating_party: str, creditor: Creditor,
                  groups: Iterable[PaymentGroup]) -> tuple[int, int]:
    """Write one pain.008 document to ``out``; returns (transactions, sum in cents).

    ``groups`` is read twice (totals first, then each group's transactions once), so pass a
    list of groups whose ``transactions`` are lazy iterables."""
    groups = list(groups)
    total_count = sum(group.count for group in groups)
    total_sum = sum(group.sum_cents for group in groups)
    writer = _Writer(version)
    written_count = written_sum = 0
    with etree.xmlfile(out, encoding="UTF-8", buffered=True) as xf:
        xf.write_declaration()
        document = xf.element(f"{{{namespace(version)}}}Document",
                              nsmap={None: namespace(version)})
        with document, xf.element("CstmrDrctDbtInitn"):
            header = _Element("GrpHdr")
            _SubElement(header, "MsgId").text = message_id
            _SubElement(header, "CreDtTm").text = created_at.strftime("%Y-%m-%dT%H:%M:%S")
            _SubElement(header, "NbOfTxs").text = str(total_count)
            _SubElement(header, "CtrlSum").text = format_amount(total_sum)
            _SubElement(_SubElement(header, "InitgPty"), "Nm").text = initiating_party
            xf.write(header)
            for group in groups:
                count = cents = 0
                with xf.element("PmtInf"):
                    for element in writer.group_header(group, creditor):
                        xf.write(element)
                    build, write = writer.transaction, xf.write
                    for tx in group.transactions:
                        write(build(tx))
                        count += 1
                        cents += tx.amount_cents
                if (count, cents) != (group.count, group.sum_cents):
                    raise ControlSumMismatch(
                        f"PmtInf {group.payment_id}: declared {group.count} transactions "
                        f"of {group.sum_cents} cents, wrote {count} of {cents}")
                written_count += count
                written_sum += cents
    return written_count, written_sum
