"""The iDx merchant–acquirer envelope (version 1.0.0): requests the creditor sends, responses the
acquirer (our sandbox) answers with, and reading each side. Signatures are added and checked in
:mod:`portal.banks.dsig`; schema validation in :mod:`portal.banks.xml`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from portal.banks.base import DebtorBank, Product, TransactionStatus
from portal.banks.pain import iso_timestamp
from portal.banks.xml import NS, find_text, qname

__all__ = [
    "VERSION",
    "AcquirerError",
    "DirectoryAnswer",
    "StatusAnswer",
    "TransactionAnswer",
    "TransactionRequestFields",
    "directory_request",
    "directory_response",
    "error_response",
    "iso_duration",
    "message_kind",
    "parse_duration",
    "read_directory_response",
    "read_error_response",
    "read_request",
    "read_status_response",
    "read_transaction_response",
    "status_request",
    "status_response",
    "transaction_request",
    "transaction_response",
]

VERSION = "1.0.0"
_IDX = NS["idx"]


def _root(name: str, product: Product) -> etree._Element:
    return etree.Element(qname("idx", name), {"version": VERSION, "productID": product.value},
                         nsmap={None: _IDX})


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, qname("idx", name))
    if text is not None:
        element.text = text
    return element


def _merchant(parent: etree._Element, merchant_id: str, sub_id: int,
              return_url: str | None = None) -> None:
    merchant = _add(parent, "Merchant")
    _add(merchant, "merchantID", merchant_id)
    _add(merchant, "subID", str(sub_id))
    if return_url is not None:
        _add(merchant, "merchantReturnURL", return_url)


def iso_duration(period: timedelta) -> str:
    """A whole-minute ISO 8601 duration (``PT30M``, ``P7D``, ``P1DT2H``)."""
    minutes = max(1, int(period.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def parse_duration(text: str | None) -> timedelta | None:
    """Days, hours, minutes and seconds of an ISO 8601 duration; None if absent or other."""
    if not text or not text.startswith("P"):
        return None
    days_part, _, time_part = text[1:].partition("T")
    total = timedelta()
    try:
        if days_part:
            if not days_part.endswith("D"):
                return None
            total += timedelta(days=int(days_part[:-1]))
        number = ""
        for char in time_part:
            if char.isdigit():
                number += char
                continue
            unit = {"H": "hours", "M": "minutes", "S": "seconds"}.get(char)
            if unit is None or not number:
                return None
            total += timedelta(**{unit: int(number)})
            number = ""
    except ValueError:
        return None
    return total if not number else None


# -- the creditor's requests -------------------------------------------------------------------

def directory_request(product: Product, merchant_id: str, sub_id: int,
                      now: datetime) -> etree._Element:
    root = _root("DirectoryReq", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    _merchant(root, merchant_id, sub_id)
    return root


def transaction_request(product: Product, merchant_id: str, sub_id: int, *, issuer_bic: str,
                        return_url: str, expiration: timedelta, language: str,
                        entrance_code: str, document: etree._Element,
                        now: datetime) -> etree._Element:
    root = _root("AcquirerTrxReq", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    _add(_add(root, "Issuer"), "issuerID", issuer_bic)
    _merchant(root, merchant_id, sub_id, return_url)
    transaction = _add(root, "Transaction")
    _add(transaction, "expirationPeriod", iso_duration(expiration))
    _add(transaction, "language", language)
    _add(transaction, "entranceCode", entrance_code)
    _add(transaction, "container").append(document)
    return root


def status_request(product: Product, merchant_id: str, sub_id: int, transaction_id: str,
                   now: datetime) -> etree._Element:
    root = _root("AcquirerStatusReq", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    _merchant(root, merchant_id, sub_id)
    _add(_add(root, "Transaction"), "transactionID", transaction_id)
    return root


# -- reading the acquirer's answers ------------------------------------------------------------

def message_kind(root: etree._Element) -> str:
    """``DirectoryRes``, ``AcquirerErrorRes``, …; ValueError for anything not iDx."""
    name = etree.QName(root)
    if name.namespace != _IDX:
        raise ValueError("not an iDx message")
    return name.localname


def product_of(root: etree._Element) -> Product | None:
    try:
        return Product(root.get("productID", ""))
    except ValueError:
        return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AcquirerError:
    code: str
    message: str
    detail: str | None
    suggested_action: str | None
    consumer_message: str | None


def read_error_response(root: etree._Element) -> AcquirerError:
    return AcquirerError(
        code=find_text(root, "idx:Error/idx:errorCode") or "",
        message=find_text(root, "idx:Error/idx:errorMessage") or "",
        detail=find_text(root, "idx:Error/idx:errorDetail"),
        suggested_action=find_text(root, "idx:Error/idx:suggestedAction"),
        consumer_message=find_text(root, "idx:Error/idx:consumerMessage"))


@dataclass(frozen=True)
class DirectoryAnswer:
    directory_at: datetime
    banks: tuple[DebtorBank, ...]


def read_directory_response(root: etree._Element) -> DirectoryAnswer:
    banks = []
    for country in root.findall("idx:Directory/idx:Country", NS):
        name = find_text(country, "idx:countryNames") or ""
        for issuer in country.findall("idx:Issuer", NS):
            banks.append(DebtorBank(bic=find_text(issuer, "idx:issuerID") or "",
                                    name=find_text(issuer, "idx:issuerName") or "",
                                    country=name))
    return DirectoryAnswer(
        directory_at=_time(find_text(root, "idx:Directory/idx:directoryDateTimestamp"))
        or datetime.min.replace(tzinfo=UTC),
        banks=tuple(banks))


@dataclass(frozen=True)
class TransactionAnswer:
    transaction_id: str
    authentication_url: str
    created_at: datetime


def read_transaction_response(root: etree._Element) -> TransactionAnswer:
    return TransactionAnswer(
        transaction_id=find_text(root, "idx:Transaction/idx:transactionID") or "",
        authentication_url=find_text(root, "idx:Issuer/idx:issuerAuthenticationURL") or "",
        created_at=_time(find_text(root, "idx:Transaction/idx:transactionCreateDateTimestamp"))
        or datetime.min.replace(tzinfo=UTC))


@dataclass(frozen=True)
class StatusAnswer:
    transaction_id: str
    status: TransactionStatus
    status_at: datetime | None
    #: The document in the container (the pain.012 on Success), as signed.
    document: etree._Element | None


def read_status_response(root: etree._Element) -> StatusAnswer:
    container = root.find("idx:Transaction/idx:container", NS)
    documents = list(container) if container is not None else []
    return StatusAnswer(
        transaction_id=find_text(root, "idx:Transaction/idx:transactionID") or "",
        status=TransactionStatus(find_text(root, "idx:Transaction/idx:status") or ""),
        status_at=_time(find_text(root, "idx:Transaction/idx:statusDateTimestamp")),
        document=documents[0] if len(documents) == 1 else None)


# -- the acquirer's side (the sandbox bank) ----------------------------------------------------

@dataclass(frozen=True)
class TransactionRequestFields:
    """What an acquirer reads from any of the three requests (absent fields are None)."""

    kind: str
    product: Product | None
    merchant_id: str
    sub_id: int
    issuer_bic: str | None = None
    return_url: str | None = None
    expiration: timedelta | None = None
    language: str | None = None
    entrance_code: str | None = None
    document: etree._Element | None = None
    transaction_id: str | None = None


def read_request(root: etree._Element) -> TransactionRequestFields:
    kind = message_kind(root)
    container = root.find("idx:Transaction/idx:container", NS)
    documents = list(container) if container is not None else []
    return TransactionRequestFields(
        kind=kind, product=product_of(root),
        merchant_id=find_text(root, "idx:Merchant/idx:merchantID") or "",
        sub_id=int(find_text(root, "idx:Merchant/idx:subID") or 0),
        issuer_bic=find_text(root, "idx:Issuer/idx:issuerID"),
        return_url=find_text(root, "idx:Merchant/idx:merchantReturnURL"),
        expiration=parse_duration(find_text(root, "idx:Transaction/idx:expirationPeriod")),
        language=find_text(root, "idx:Transaction/idx:language"),
        entrance_code=find_text(root, "idx:Transaction/idx:entranceCode"),
        document=documents[0] if len(documents) == 1 else None,
        transaction_id=find_text(root, "idx:Transaction/idx:transactionID"))


def _acquirer(root: etree._Element, acquirer_id: str) -> None:
    _add(_add(root, "Acquirer"), "acquirerID", acquirer_id)


def directory_response(product: Product, acquirer_id: str, banks: tuple[DebtorBank, ...],
                       directory_at: datetime, now: datetime) -> etree._Element:
    root = _root("DirectoryRes", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    _acquirer(root, acquirer_id)
    directory = _add(root, "Directory")
    _add(directory, "directoryDateTimestamp", iso_timestamp(directory_at))
    countries: dict[str, list[DebtorBank]] = {}
    for bank in banks:
        countries.setdefault(bank.country, []).append(bank)
    for name, members in countries.items():
        country = _add(directory, "Country")
        _add(country, "countryNames", name)
        for bank in members:
            issuer = _add(country, "Issuer")
            _add(issuer, "issuerID", bank.bic)
            _add(issuer, "issuerName", bank.name)
    return root


def transaction_response(product: Product, acquirer_id: str, *, authentication_url: str,
                         transaction_id: str, now: datetime) -> etree._Element:
    root = _root("AcquirerTrxRes", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    _acquirer(root, acquirer_id)
    _add(_add(root, "Issuer"), "issuerAuthenticationURL", authentication_url)
    transaction = _add(root, "Transaction")
    _add(transaction, "transactionID", transaction_id)
    _add(transaction, "transactionCreateDateTimestamp", iso_timestamp(now))
    return root


def status_response(product: Product, acquirer_id: str, *, transaction_id: str,
                    status: TransactionStatus, status_at: datetime | None,
                    document: etree._Element | None, now: datetime) -> etree._Element:
    root = _root("AcquirerStatusRes", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    _acquirer(root, acquirer_id)
    transaction = _add(root, "Transaction")
    _add(transaction, "transactionID", transaction_id)
    _add(transaction, "status", status.value)
    if status_at is not None:
        _add(transaction, "statusDateTimestamp", iso_timestamp(status_at))
    if document is not None:
        _add(transaction, "container").append(document)
    return root


def error_response(product: Product, error: AcquirerError, now: datetime) -> etree._Element:
    root = _root("AcquirerErrorRes", product)
    _add(root, "createDateTimestamp", iso_timestamp(now))
    element = _add(root, "Error")
    _add(element, "errorCode", error.code)
    _add(element, "errorMessage", error.message[:128])
    for name, value in (("errorDetail", error.detail), ("suggestedAction", error.suggested_action),
                        ("consumerMessage", error.consumer_message)):
        if value:
            _add(element, name, value[:256 if name == "errorDetail" else 512])
    return root
