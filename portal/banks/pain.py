"""ISO 20022 mandate documents as eMandates fills them: pain.009 (new), pain.010 (amendment),
pain.011 (cancellation) built by the creditor, and pain.012 (acceptance report) built by the
debtor bank (our sandbox) and read by the creditor. Element order follows the schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from portal.banks.base import (
    AcceptanceReport,
    AmendmentRequest,
    CancellationRequest,
    MandateRequest,
)
from portal.banks.xml import NS, find_text

__all__ = [
    "AMENDMENT_REASON",
    "MESSAGE_NAMES",
    "MandateDetails",
    "Party",
    "acceptance_report",
    "amendment_document",
    "cancellation_document",
    "cents_to_amount",
    "iso_timestamp",
    "mandate_document",
    "read_acceptance_report",
    "read_mandate_document",
]

#: The reason code eMandates puts on amendments and cancellations.
AMENDMENT_REASON = "MD16"
NOT_PROVIDED = "NOTPROVIDED"
#: Message names by namespace key, as a pain.012 refers to the request it answers.
MESSAGE_NAMES = {"pain009": "pain.009.001.04", "pain010": "pain.010.001.04",
                 "pain011": "pain.011.001.04"}
_ROOTS = {"pain009": "MndtInitnReq", "pain010": "MndtAmdmntReq", "pain011": "MndtCxlReq"}


def iso_timestamp(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, as iDx requires (``2030-01-31T12:00:00.000Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.astimezone(UTC).microsecond // 1000:03d}Z"


def cents_to_amount(cents: int) -> str:
    """12345 → "123.45" (ISO 20022 decimal amounts)."""
    return f"{cents // 100}.{cents % 100:02d}"


def _amount_to_cents(text: str | None) -> int | None:
    if not text:
        return None
    whole, _, fraction = text.strip().partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 2:
        raise ValueError(f"not a euro amount: {text[:20]!r}")
    return int(whole) * 100 + int((fraction + "00")[:2])


class _Builder:
    """Appends elements of one namespace in document order."""

    def __init__(self, key: str) -> None:
        self.namespace = NS[key]

    def root(self) -> etree._Element:
        return etree.Element(f"{{{self.namespace}}}Document", nsmap={None: self.namespace})

    def add(self, parent: etree._Element, tag: str, text: str | None = None,
            **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.namespace}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    def path(self, parent: etree._Element, tags: str, text: str) -> etree._Element:
        """``a/b/c`` with ``text`` in the last."""
        for tag in tags.split("/"):
            parent = self.add(parent, tag)
        parent.text = text
        return parent

    def header(self, parent: etree._Element, message_id: str, now: datetime) -> None:
        header = self.add(parent, "GrpHdr")
        self.add(header, "MsgId", message_id)
        self.add(header, "CreDtTm", iso_timestamp(now))

    def mandate_type(self, parent: etree._Element, local_instrument: str,
                     sequence_type: str) -> None:
        kind = self.add(parent, "Tp")
        self.path(kind, "SvcLvl/Cd", "SEPA")
        self.path(kind, "LclInstrm/Cd", local_instrument)
        self.path(parent, "Ocrncs/SeqTp", sequence_type)

    def debtor(self, parent: etree._Element, reference: str | None,
               name: str | None = None) -> None:
        debtor = self.add(parent, "Dbtr")
        if name:
            self.add(debtor, "Nm", name)
        if reference:
            self.path(debtor, "Id/PrvtId/Othr/Id", reference)

    def purchase(self, parent: etree._Element, purchase_id: str | None) -> None:
        if purchase_id:
            self.path(parent, "RfrdDoc/Tp/CdOrPrtry/Prtry", purchase_id)

    def mandate(self, parent: etree._Element, request: MandateRequest | AmendmentRequest,
                max_amount_cents: int | None = None) -> etree._Element:
        """The ``Mndt`` a debtor signs, as pain.009 and pain.010 both carry it (XSD order)."""
        mandate = self.add(parent, "Mndt")
        self.add(mandate, "MndtId", request.mandate_reference)
        self.add(mandate, "MndtReqId", NOT_PROVIDED)
        self.mandate_type(mandate, request.product.local_instrument, request.sequence_type)
        if max_amount_cents is not None:
            self.add(mandate, "MaxAmt", cents_to_amount(max_amount_cents), Ccy="EUR")
        if request.reason:
            self.path(mandate, "Rsn/Prtry", request.reason)
        self.add(mandate, "Cdtr")
        self.debtor(mandate, request.debtor_reference)
        self.path(mandate, "DbtrAgt/FinInstnId/BICFI", request.debtor_bic)
        self.purchase(mandate, request.purchase_id)
        return mandate


def mandate_document(request: MandateRequest, now: datetime) -> etree._Element:
    """pain.009: the creditor fields stay empty, the acquirer fills them from the contract."""
    b = _Builder("pain009")
    document = b.root()
    body = b.add(document, "MndtInitnReq")
    b.header(body, request.message_id, now)
    b2b = request.product.local_instrument == "B2B"
    b.mandate(body, request, request.max_amount_cents if b2b else None)
    return document


def amendment_document(request: AmendmentRequest, now: datetime) -> etree._Element:
    """pain.010: the mandate as it will be (at the new bank) and the original account."""
    b = _Builder("pain010")
    document = b.root()
    body = b.add(document, "MndtAmdmntReq")
    b.header(body, request.message_id, now)
    details = b.add(body, "UndrlygAmdmntDtls")
    b.path(details, "AmdmntRsn/Rsn/Cd", AMENDMENT_REASON)
    b.mandate(details, request)
    original = b.add(b.add(details, "OrgnlMndt"), "OrgnlMndt")
    b.add(original, "MndtId", request.mandate_reference)
    b.add(original, "Cdtr")
    b.add(original, "Dbtr")
    b.path(original, "DbtrAcct/Id/IBAN", request.original_iban)
    b.path(original, "DbtrAgt/FinInstnId/BICFI", request.original_debtor_bic)
    return document


def cancellation_document(request: CancellationRequest, now: datetime) -> etree._Element:
    """pain.011: the mandate being ended, as registered."""
    b = _Builder("pain011")
    document = b.root()
    body = b.add(document, "MndtCxlReq")
    b.header(body, request.message_id, now)
    details = b.add(body, "UndrlygCxlDtls")
    b.path(details, "CxlRsn/Rsn/Cd", AMENDMENT_REASON)
    mandate = b.add(b.add(details, "OrgnlMndt"), "OrgnlMndt")
    b.add(mandate, "MndtId", request.mandate_reference)
    b.add(mandate, "MndtReqId", NOT_PROVIDED)
    b.mandate_type(mandate, request.product.local_instrument, request.sequence_type)
    if request.max_amount_cents is not None:
        b.add(mandate, "MaxAmt", cents_to_amount(request.max_amount_cents), Ccy="EUR")
    if request.reason:
        b.path(mandate, "Rsn/Prtry", request.reason)
    b.add(mandate, "Cdtr")
    b.debtor(mandate, request.debtor_reference)
    b.path(mandate, "DbtrAcct/Id/IBAN", request.iban)
    b.path(mandate, "DbtrAgt/FinInstnId/BICFI", request.debtor_bic)
    b.purchase(mandate, request.purchase_id)
    return document


@dataclass(frozen=True)
class MandateDetails:
    """What a bank reads from a pain.009/010/011 (the sandbox bank's view of a request)."""

    kind: str  # "pain009", "pain010" or "pain011"
    message_id: str
    created_at: str
    mandate_reference: str
    local_instrument: str
    sequence_type: str
    max_amount_cents: int | None
    reason: str | None
    debtor_reference: str | None
    debtor_bic: str
    purchase_id: str | None
    #: pain.010/011: the account the mandate had until now.
    original_iban: str | None


def read_mandate_document(document: etree._Element) -> MandateDetails:
    """The fields of a (schema-valid) pain.009, pain.010 or pain.011."""
    kind = next((k for k in _ROOTS if document.tag == f"{{{NS[k]}}}Document"), None)
    if kind is None:
        raise ValueError("not a pain.009, pain.010 or pain.011 document")
    ns = {"p": NS[kind]}
    body = document.find(f"p:{_ROOTS[kind]}", ns)
    if kind == "pain009":
        mandate = body.find("p:Mndt", ns)
        original = None
    elif kind == "pain010":
        mandate = body.find("p:UndrlygAmdmntDtls/p:Mndt", ns)
        original = body.find("p:UndrlygAmdmntDtls/p:OrgnlMndt/p:OrgnlMndt", ns)
    else:
        mandate = body.find("p:UndrlygCxlDtls/p:OrgnlMndt/p:OrgnlMndt", ns)
        original = mandate

    def text(element: etree._Element | None, path: str) -> str | None:
        return find_text(element, path, ns) if element is not None else None

    return MandateDetails(
        kind=kind, message_id=text(body, "p:GrpHdr/p:MsgId") or "",
        created_at=text(body, "p:GrpHdr/p:CreDtTm") or "",
        mandate_reference=text(mandate, "p:MndtId") or "",
        local_instrument=text(mandate, "p:Tp/p:LclInstrm/p:Cd") or "",
        sequence_type=text(mandate, "p:Ocrncs/p:SeqTp") or "",
        max_amount_cents=_amount_to_cents(text(mandate, "p:MaxAmt")),
        reason=text(mandate, "p:Rsn/p:Prtry"),
        debtor_reference=text(mandate, "p:Dbtr/p:Id/p:PrvtId/p:Othr/p:Id"),
        debtor_bic=text(mandate, "p:DbtrAgt/p:FinInstnId/p:BICFI") or "",
        purchase_id=text(mandate, "p:RfrdDoc/p:Tp/p:CdOrPrtry/p:Prtry"),
        original_iban=text(original, "p:DbtrAcct/p:Id/p:IBAN"),
    )


@dataclass(frozen=True)
class Party:
    """A creditor as a pain.012 names it."""

    creditor_id: str
    name: str
    country: str
    address_lines: tuple[str, ...]
    trade_name: str | None = None


def acceptance_report(request: MandateDetails, *, message_id: str, now: datetime,
                      validation_reference: str | None, accepted: bool,
                      reject_reason: str | None, creditor: Party, debtor_name: str,
                      debtor_iban: str, debtor_bic: str, signer_name: str,
                      reject_text: str | None = None) -> etree._Element:
    """pain.012 for a request, ending in an empty supplementary-data envelope where the bank's
    signature goes (``SplmtryData/Envlp``)."""
    b = _Builder("pain012")
    document = b.root()
    body = b.add(document, "MndtAccptncRpt")
    header = b.add(body, "GrpHdr")
    b.add(header, "MsgId", message_id)
    b.add(header, "CreDtTm", iso_timestamp(now))
    if validation_reference:
        b.path(header, "Authstn/Prtry", validation_reference)
    details = b.add(body, "UndrlygAccptncDtls")
    original_message = b.add(details, "OrgnlMsgInf")
    b.add(original_message, "MsgId", request.message_id)
    b.add(original_message, "MsgNmId", MESSAGE_NAMES[request.kind])
    result = b.add(details, "AccptncRslt")
    b.add(result, "Accptd", "true" if accepted else "false")
    if reject_reason:
        b.path(result, "RjctRsn/Prtry", reject_reason)
    if reject_text:
        b.add(result, "AddtlRjctRsnInf", reject_text)
    mandate = b.add(b.add(details, "OrgnlMndt"), "OrgnlMndt")
    b.add(mandate, "MndtId", request.mandate_reference)
    b.add(mandate, "MndtReqId", NOT_PROVIDED)
    b.mandate_type(mandate, request.local_instrument, request.sequence_type)
    if request.max_amount_cents is not None:
        b.add(mandate, "MaxAmt", cents_to_amount(request.max_amount_cents), Ccy="EUR")
    if request.reason:
        b.path(mandate, "Rsn/Prtry", request.reason)
    scheme_id = b.add(b.add(b.add(b.add(mandate, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
    b.add(scheme_id, "Id", creditor.creditor_id)
    b.path(scheme_id, "SchmeNm/Prtry", "SEPA")
    party = b.add(mandate, "Cdtr")
    b.add(party, "Nm", creditor.name[:140])
    address = b.add(party, "PstlAdr")
    b.add(address, "Ctry", creditor.country)
    for line in creditor.address_lines[:2]:
        b.add(address, "AdrLine", line[:70])
    if creditor.trade_name:
        b.path(mandate, "UltmtCdtr/Nm", creditor.trade_name[:140])
    b.debtor(mandate, request.debtor_reference, debtor_name[:140])
    b.path(mandate, "DbtrAcct/Id/IBAN", debtor_iban)
    b.path(mandate, "DbtrAgt/FinInstnId/BICFI", debtor_bic)
    b.path(mandate, "UltmtDbtr/Nm", signer_name[:70])
    b.purchase(mandate, request.purchase_id)
    b.add(b.add(body, "SplmtryData"), "Envlp")
    return document


#: Where the bank's signature sits in a pain.012, as a signxml location.
SIGNATURE_LOCATION = "./{%s}MndtAccptncRpt/{%s}SplmtryData/{%s}Envlp/" % ((NS["pain012"],) * 3)


def signature_envelope(document: etree._Element) -> etree._Element:
    """The (empty) envelope of a pain.012 built by :func:`acceptance_report`."""
    return document.find("p:MndtAccptncRpt/p:SplmtryData/p:Envlp", {"p": NS["pain012"]})


def read_acceptance_report(document: etree._Element, *, raw: bytes,
                           bank_certificate: str | None) -> AcceptanceReport:
    """The fields of a pain.012 (pass only what a verified signature covers)."""
    ns = {"p": NS["pain012"]}
    body = document.find("p:MndtAccptncRpt", ns)
    if body is None:
        raise ValueError("not a pain.012 acceptance report")
    details = body.find("p:UndrlygAccptncDtls", ns)
    mandate = details.find("p:OrgnlMndt/p:OrgnlMndt", ns)
    if mandate is None:
        raise ValueError("the acceptance report does not describe the mandate")

    def text(element: etree._Element, path: str) -> str | None:
        return find_text(element, path, ns)

    scheme = "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id"
    created = text(body, "p:GrpHdr/p:CreDtTm") or ""
    reject = text(details, "p:AccptncRslt/p:RjctRsn/p:Cd") or text(
        details, "p:AccptncRslt/p:RjctRsn/p:Prtry")
    return AcceptanceReport(
        message_id=text(body, "p:GrpHdr/p:MsgId") or "",
        created_at=_parse_time(created),
        validation_reference=text(body, "p:GrpHdr/p:Authstn/p:Prtry"),
        original_message_id=text(details, "p:OrgnlMsgInf/p:MsgId"),
        message_name_id=text(details, "p:OrgnlMsgInf/p:MsgNmId"),
        accepted=(text(details, "p:AccptncRslt/p:Accptd") or "").lower() in ("true", "1"),
        reject_reason=reject,
        mandate_reference=text(mandate, "p:MndtId") or "",
        local_instrument=text(mandate, "p:Tp/p:LclInstrm/p:Cd"),
        sequence_type=text(mandate, "p:Ocrncs/p:SeqTp"),
        max_amount_cents=_amount_to_cents(text(mandate, "p:MaxAmt")),
        reason=text(mandate, "p:Rsn/p:Prtry") or text(mandate, "p:Rsn/p:Cd"),
        creditor_id=text(mandate, scheme),
        creditor_name=text(mandate, "p:Cdtr/p:Nm"),
        creditor_trade_name=text(mandate, "p:UltmtCdtr/p:Nm"),
        debtor_name=text(mandate, "p:Dbtr/p:Nm"),
        debtor_reference=text(mandate, "p:Dbtr/p:Id/p:PrvtId/p:Othr/p:Id"),
        debtor_iban=text(mandate, "p:DbtrAcct/p:Id/p:IBAN"),
        debtor_bic=text(mandate, "p:DbtrAgt/p:FinInstnId/p:BICFI"),
        signer_name=text(mandate, "p:UltmtDbtr/p:Nm"),
        document=raw,
        bank_certificate=bank_certificate,
    )


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
