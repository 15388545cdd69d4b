"""The sandbox bank: the bank route's twin inside the portal, so the whole cycle runs offline.

It accepts each exported pain.008 file, clears every PmtInf on its collection date (by the
injectable clock), and answers with a camt.054: a credit for each collection paid, a return
for each one that failed. Which ones fail is chosen by the debtor's IBAN from
:data:`TEST_ACCOUNTS` (also in the README); it remembers each mandate's earlier presentations,
so an account can fail the first time and pay the second. Every other IBAN pays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.collections.bank import BankReport
from portal.collections.calendar import BANK_TIMEZONE
from portal.collections.camt054 import CamtEntry, write_camt054
from portal.collections.files import CollectionFileStore
from portal.collections.models import Batch, SandboxBankEntry, SandboxBankFile
from portal.collections.reasons import reason_text


@dataclass(frozen=True)
class TestAccount:
    iban: str
    behaviour: str
    #: The outcome of the 1st, 2nd, … presentation of a mandate (None: paid); the last repeats.
    outcomes: tuple[str | None, ...]


TEST_ACCOUNTS: tuple[TestAccount, ...] = (
    TestAccount("NL28INGB0000000001", "AM04 insufficient funds, every time", ("AM04",)),
    TestAccount("NL98INGB0000000002", "AM04 insufficient funds once, then paid",
                ("AM04", None)),
    TestAccount("NL71INGB0000000003", "MS03 reason not specified, every time", ("MS03",)),
    TestAccount("NL44INGB0000000004", "AC04 account closed", ("AC04",)),
    TestAccount("NL17INGB0000000005", "MD01 no mandate", ("MD01",)),
    TestAccount("NL87INGB0000000006", "MD06 the debtor claims a refund", ("MD06",)),
    TestAccount("NL60INGB0000000007", "SL01 the debtor's bank blocks this creditor", ("SL01",)),
    TestAccount("NL33INGB0000000008", "AC01 account number incorrect", ("AC01",)),
)
_BY_IBAN = {account.iban: account for account in TEST_ACCOUNTS}


def outcome_for(iban: str, earlier_presentations: int) -> str | None:
    """The return reason the sandbox gives this IBAN's next presentation, or None (paid)."""
    account = _BY_IBAN.get(iban)
    if account is None:
        return None
    return account.outcomes[min(earlier_presentations, len(account.outcomes) - 1)]


@dataclass(frozen=True, slots=True)
class _Presented:
    end_to_end_id: str
    mandate_id: str
    amount_cents: int
    debtor_iban: str
    collection_date: date


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def presented_collections(path: Path) -> Iterator[_Presented]:
    """The transactions of a pain.008 file with their PmtInf's collection date, streaming."""
    collection_date: date | None = None
    for _event, element in etree.iterparse(str(path), events=("end",),
                                           tag=("{*}ReqdColltnDt", "{*}DrctDbtTxInf"),
                                           resolve_entities=False, no_network=True):
        if _local(element) == "ReqdColltnDt":
            collection_date = date.fromisoformat((element.text or "").strip())
            continue
        values: dict[str, str] = {}
        for child in element.iter():
            if isinstance(child.tag, str):
                values.setdefault(_local(child), (child.text or "").strip())
        amount = values["InstdAmt"]
        euros, _, cents = amount.partition(".")
        assert collection_date is not None
        yield _Presented(values["EndToEndId"], values["MndtId"],
                         int(euros) * 100 + int((cents + "00")[:2]),
                         _debtor_iban(element), collection_date)
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del element.getparent()[0]


def _debtor_iban(transaction: etree._Element) -> str:
    for child in transaction:
        if isinstance(child.tag, str) and _local(child) == "DbtrAcct":
            return next(c for c in child.iter() if _local(c) == "IBAN").text or ""
    return ""


class SandboxBank:
    """Bank route twin: ``deliver`` receives a file, ``reports_due`` clears what is due."""

    name = "sandbox"

    def __init__(self, store: CollectionFileStore, outbox: Path) -> None:
        self.store = store
        self.outbox = Path(outbox)

    def deliver(self, session: Session, batch: Batch, path: Path, now: datetime) -> None:
        session.add(SandboxBankFile(batch_id=batch.id, merchant_id=batch.merchant_id,
                                    received_at=now))

    def reports_due(self, session: Session, today: date, now: datetime) -> list[BankReport]:
        """Clear every received collection due by ``today`` and write one camt.054 per
        merchant with what happened to them."""
        entries: dict[int, list[CamtEntry]] = {}
        accounts: dict[int, str] = {}
        files = session.scalars(select(SandboxBankFile).where(
            SandboxBankFile.cleared_at.is_(None)).order_by(SandboxBankFile.id)).all()
        for received in files:
            batch = received.batch
            pending = False
            for presented in presented_collections(self.store.path(batch.file_sha256)):
                if presented.collection_date > today:
                    pending = True
                    continue
                if session.scalar(select(SandboxBankEntry.id).where(
                        SandboxBankEntry.end_to_end_id == presented.end_to_end_id)):
                    continue
                earlier = session.scalar(select(func.count()).select_from(SandboxBankEntry)
                                         .where(SandboxBankEntry.mandate_reference
                                                == presented.mandate_id))
                code = outcome_for(presented.debtor_iban, earlier or 0)
                session.add(SandboxBankEntry(
                    batch_id=batch.id, end_to_end_id=presented.end_to_end_id,
                    mandate_reference=presented.mandate_id, reason_code=code,
                    cleared_on=presented.collection_date))
                session.flush()
                entries.setdefault(batch.merchant_id, []).append(CamtEntry(
                    end_to_end_id=presented.end_to_end_id, mandate_id=presented.mandate_id,
                    amount_cents=presented.amount_cents, booked_on=presented.collection_date,
                    reason_code=code, reason_text=reason_text(code) if code else None))
                accounts[batch.merchant_id] = batch.creditor_iban
            if not pending:
                received.cleared_at = now
        reports = []
        self.outbox.mkdir(parents=True, exist_ok=True)
        for merchant_id, merchant_entries in entries.items():
            message_id = f"SBX{now.astimezone(BANK_TIMEZONE):%Y%m%d%H%M%S}{merchant_id:06d}"
            path = self.outbox / f"camt054-{message_id}.xml"
            with path.open("wb") as out:
                write_camt054(out, message_id=message_id,
                              created_at=now.astimezone(BANK_TIMEZONE).replace(tzinfo=None),
                              account_iban=accounts[merchant_id], entries=merchant_entries)
            reports.append(BankReport(merchant_id=merchant_id, path=path))
        return reports
