"""Golden pain.008 files of a known batch, in both versions: collections scheduled two weeks
before Easter (so over Good Friday, the weekend and Easter Monday), every sequence type, the
sums, amended mandates (new account at the same bank, at another bank: SMNDA, new reference),
and a bank-signed B2B mandate with its validation reference. Every file is XSD-valid.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text
from sqlalchemy.orm import Session

from portal.collections.batches import export_batches
from portal.collections.models import ORIGINAL_IBAN_CONTEXT, DebitAttempt, DebitStatus
from portal.collections.routes import Collectors
from portal.collections.service import configure_collections
from portal.collections.xsd import validate_pain008
from portal.db import cipher_of
from portal.mandates.models import Scheme, SequenceType
from portal.mandates.service import set_debtor_account
from tests.collections.conftest import Clock, active_mandate, debit_on, history
from tests.factories import make_merchant

GOLDEN = Path(__file__).parent / "golden"


def normalise(xml: bytes) -> str:
    """Pretty-printed, with the random identifiers replaced in order of appearance."""
    text = etree.tostring(etree.fromstring(xml), pretty_print=True, encoding="unicode")
    names: dict[str, str] = {}

    def stable(kind: str):
        def replace(match: re.Match[str]) -> str:
            value = match.group(2)
            names.setdefault(value, f"{kind}-{sum(k.startswith(kind) for k in names.values()) + 1}")
            return f"{match.group(1)}{names[value]}{match.group(3)}"
        return replace

    text = re.sub(r"(<MsgId>)(MP\w+)(</MsgId>)", stable("MSG"), text)
    text = re.sub(r"(<PmtInfId>)MP\w+(-\d+</PmtInfId>)", r"\1MSG-1\2", text)
    return re.sub(r"(<EndToEndId>)(\w{22}-\d)(</EndToEndId>)", stable("E2E"), text)


def known_batch(session: Session, collectors: Collectors, clock: Clock, version: str):
    merchant = make_merchant(session, legal_name="Sportclub De Ster B.V.",
                             creditor_id="NL66ZZZGOLDEN000001")
    configure_collections(session, merchant.id, actor="test", pain_version=version,
                          creditor_iban="NL91ABNA0417164300", creditor_bic="ABNANL2A")

    def mandate(reference: str, name: str, iban: str, **options):
        made = active_mandate(session, merchant, iban=iban, name=name, **options)
        made.reference = reference
        return made

    first = mandate("DESTER-0001", "Anna Jansen", "NL02ABNA0123456789")
    recurring = mandate("DESTER-0002", "Bram de Boer", "NL20INGB0001234567")
    history(session, recurring)
    other_bank = mandate("DESTER-0003", "Chloé Müller", "NL39RABO0300065264")
    history(session, other_bank, on=date(2026, 2, 16))
    set_debtor_account(session, other_bank, "DE89370400440532013000", None)  # moved banks
    same_bank = mandate("DESTER-0004", "Daan Visser", "NL51ABNA0987654321")
    history(session, same_bank)
    set_debtor_account(session, same_bank, "NL75ABNA0555555555", None)  # new ABN AMRO account
    renamed = mandate("DESTER-OLD-5", "Eva de Wit", "NL36INGB0007654321")
    history(session, renamed)
    renamed.reference = "DESTER-0005"
    one_off = mandate("DESTER-0006", "Fleur Bakker", "BE68539007547034",
                      sequence_type=SequenceType.ONE_OFF)
    final = mandate("DESTER-0007", "Gijs Smit", "NL20INGB0001234567")
    history(session, final)
    b2b = mandate("DESTER-B2B-1", "Holland Bouw B.V.", "NL02ABNA0123456789",
                  scheme=Scheme.B2B)
    b2b.validation_reference = "0020000012345678"
    session.flush()

    debit_on(session, collectors, first, 2500, description="Contributie april")
    debit_on(session, collectors, recurring, 1250, description="Contributie april")
    debit_on(session, collectors, other_bank, 9999, description="Jaarkaart 2026")
    debit_on(session, collectors, same_bank, 1)
    debit_on(session, collectors, renamed, 4200)
    debit_on(session, collectors, one_off, 15000, description="Clinic",
             requested_date=date(2026, 4, 8))
    debit_on(session, collectors, final, 3000, final=True, requested_date=date(2026, 4, 3))
    debit_on(session, collectors, b2b, 123456, description="Sponsoring Q2")
    clock.set_day(date(2026, 3, 25))  # Wednesday: exported with Easter ahead
    return export_batches(session, merchant.id, collectors, actor="test")


@pytest.mark.parametrize("version", ["pain.008.001.02", "pain.008.001.08"])
def test_the_known_batch_is_written_exactly_as_the_golden_file(
        session: Session, collectors: Collectors, clock: Clock, version: str) -> None:
    batches = known_batch(session, collectors, clock, version)
    assert [b.scheme for b in batches] == ["B2B", "CORE"]
    for batch in batches:
        path = collectors.store.path(batch.file_sha256)
        assert validate_pain008(path, version) == batch.transaction_count
        golden = GOLDEN / f"{version}.{batch.scheme}.xml"
        actual = normalise(path.read_bytes())
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(exist_ok=True)
            golden.write_text(actual)
        assert actual == golden.read_text(), f"{golden.name} differs"

    b2b, core = batches
    assert (core.transaction_count, core.control_sum_cents) == (7, 2500 + 1250 + 9999 + 1 +
                                                                4200 + 15000 + 3000)
    assert [(g["sequence_type"], g["collection_date"], g["count"], g["sum_cents"])
            for g in core.payment_groups] == [
        ("FNAL", "2026-04-07", 1, 3000), ("FRST", "2026-04-07", 1, 2500),
        ("OOFF", "2026-04-08", 1, 15000), ("RCUR", "2026-04-07", 4, 1250 + 9999 + 1 + 4200)]
    assert (b2b.transaction_count, b2b.control_sum_cents) == (1, 123456)


def test_the_golden_files_say_what_the_rules_require() -> None:
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
    core = etree.parse(str(GOLDEN / "pain.008.001.02.CORE.xml"))
    # The creditor identifier in every PmtInf, collections after Easter Monday.
    assert core.xpath("count(//p:PmtInf)", namespaces=ns) == 4
    assert core.xpath("count(//p:PmtInf/p:CdtrSchmeId//p:Othr/p:Id)", namespaces=ns) == 4
    assert set(core.xpath("//p:ReqdColltnDt/text()", namespaces=ns)) == {"2026-04-07",
                                                                       "2026-04-08"}

    def mandate(reference: str):
        return core.xpath(f"//p:MndtRltdInf[p:MndtId='{reference}']", namespaces=ns)[0]

    moved = mandate("DESTER-0003")
    assert moved.xpath("p:AmdmntInd/text()", namespaces=ns) == ["true"]
    assert moved.xpath("p:AmdmntInfDtls/p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id/text()",
                       namespaces=ns) == ["SMNDA"]
    same_bank = mandate("DESTER-0004")
    assert same_bank.xpath("p:AmdmntInfDtls/p:OrgnlDbtrAcct/p:Id/p:IBAN/text()",
                           namespaces=ns) == ["NL51ABNA0987654321"]
    assert mandate("DESTER-0005").xpath("p:AmdmntInfDtls/p:OrgnlMndtId/text()",
                                        namespaces=ns) == ["DESTER-OLD-5"]
    assert not mandate("DESTER-0001").xpath("p:AmdmntInd", namespaces=ns)
    assert "Chloe Muller" in (GOLDEN / "pain.008.001.02.CORE.xml").read_text()
    b2b = etree.parse(str(GOLDEN / "pain.008.001.08.B2B.xml"))
    ns8 = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
    assert b2b.xpath("//p:MndtRltdInf/p:ElctrncSgntr/text()", namespaces=ns8) == [
        "0020000012345678"]
    assert b2b.xpath("//p:LclInstrm/p:Cd/text()", namespaces=ns8) == ["B2B"]
    assert b2b.xpath("//p:CdtrAgt//p:BICFI/text()", namespaces=ns8) == ["ABNANL2A"]


def test_exported_debits_are_submitted_with_their_attempt(
        session: Session, collectors: Collectors, clock: Clock) -> None:
    known_batch(session, collectors, clock, "pain.008.001.02")
    attempts = session.query(DebitAttempt).all()
    assert len([a for a in attempts if a.batch_id]) == 8
    assert all(a.debit.status == DebitStatus.SUBMITTED for a in attempts if a.batch_id)


def test_an_amendments_original_account_is_stored_encrypted_only(
        session: Session, collectors: Collectors, clock: Clock) -> None:
    """The golden file names NL51ABNA0987654321 as OrgnlDbtrAcct; the database keeps it only
    as a ciphertext beside the attempt (so `keys reencrypt` moves it)."""
    known_batch(session, collectors, clock, "pain.008.001.02")
    stored = session.execute(text("SELECT amendment, original_iban_ciphertext FROM debit_attempt "
                                  "WHERE batch_id IS NOT NULL")).all()
    assert "NL51ABNA0987654321" not in str(stored)
    [token] = [original for _, original in stored if original]
    assert cipher_of(session).decrypt(token, ORIGINAL_IBAN_CONTEXT) == "NL51ABNA0987654321"
