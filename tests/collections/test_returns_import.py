"""Importing bank reports written for the tests from the ISO 20022 message definitions
(``files/``): pain.002 and camt.054 for collected, AM04, AC04, MD01, MD06 and mixed files, and
the CSV; matched on EndToEndId, all or nothing, the same file twice changing nothing; parsing
refuses DTDs and entities (both databases)."""

from __future__ import annotations

from pathlib import Path
from string import Template

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.collections.batches import export_batches
from portal.collections.models import (
    CollectionFlag,
    Debit,
    DebitAttempt,
    FlagCode,
    ReturnImport,
)
from portal.collections.pain008 import format_amount
from portal.collections.reports import ReportError, read_report
from portal.collections.returns import UnknownDebits, import_report
from portal.collections.routes import Collectors
from portal.events.models import Event
from portal.mandates.models import MandateStatus
from portal.merchants.models import Merchant
from tests.collections.conftest import FILES, Clock, PayLinkRecorder, active_mandate, debit_on


def submitted(session: Session, collectors: Collectors, clock: Clock, merchant: Merchant,
              count: int) -> list[DebitAttempt]:
    """``count`` debits of 25.00, 26.00, … exported in one batch (collection on 7 April)."""
    for number in range(count):
        debit_on(session, collectors, active_mandate(session, merchant,
                                                     name=f"Debtor {number + 1}"),
                 2500 + 100 * number)
    clock.advance(days=5)
    [batch] = export_batches(session, merchant.id, collectors, actor="test")
    session.commit()
    return list(session.scalars(select(DebitAttempt).where(DebitAttempt.batch_id == batch.id)
                                .order_by(DebitAttempt.id)))


def fill(name: str, attempts: list[DebitAttempt], target: Path) -> Path:
    values: dict[str, str] = {}
    for number, attempt in enumerate(attempts, 1):
        values[f"E2E_{number}"] = attempt.end_to_end_id
        values[f"MANDATE_{number}"] = attempt.mandate_reference
        values[f"AMOUNT_{number}"] = format_amount(attempt.amount_cents)
    if attempts:
        batch = attempts[0].batch
        values["MSG"] = batch.message_id
        values["PMTINF"] = batch.payment_groups[0]["id"]
        values["AMOUNT_COLLECTED"] = format_amount(sum(a.amount_cents for a in attempts[:2]))
    path = target / name
    path.write_text(Template((FILES / name).read_text()).safe_substitute(values))
    return path


def statuses(session: Session, attempts: list[DebitAttempt]) -> list[tuple[str, str | None]]:
    session.expire_all()
    return [(session.get(Debit, a.debit_id).status.value, session.get(Debit, a.debit_id)
             .reason_code) for a in attempts]


def counted(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("name", "status", "code"), [
    ("camt054-collected.xml", "collected", None),
    ("camt054-am04.xml", "scheduled", "AM04"),  # returned, then planned again
    ("camt054-ac04.xml", "returned", "AC04"),
    ("camt054-md01.xml", "returned", "MD01"),
    ("camt054-md06.xml", "refunded", "MD06"),
])
def test_a_camt054_settles_the_debit_it_names(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path, name: str, status: str,
        code: str | None) -> None:
    [attempt] = submitted(session, collectors, clock, merchant, 1)
    result = import_report(session, merchant.id, fill(name, [attempt], tmp_path), collectors,
                           source="test", actor="test")
    session.commit()
    assert statuses(session, [attempt]) == [(status, code)]
    assert result.report.format.value == "camt.054" and not result.duplicate
    expected = {"collected": "collected", "scheduled": "returned", "returned": "returned",
                "refunded": "refunded"}[status]
    assert result.counts[expected] == 1
    types = session.scalars(select(Event.type).where(Event.subject == attempt.debit.public_id)
                            .order_by(Event.id)).all()
    assert types[:2] == ["debit.scheduled", "debit.submitted"]
    assert types[2] == {"collected": "debit.collected", "refunded": "debit.refunded"}.get(
        status, "debit.failed")
    if code == "AM04":
        assert types[3:] == ["debit.retry_scheduled"]
    failed = session.scalars(select(Event).where(Event.type == "debit.failed")).all()
    for event in failed:
        assert event.data["reason_code"] == code and event.data["will_retry"] is (code == "AM04")
    if code == "MD01":
        assert attempt.debit.mandate.status == MandateStatus.REVOKED
    if code == "AC04":
        assert session.scalar(select(CollectionFlag.code).where(
            CollectionFlag.mandate_id == attempt.mandate_id)) == FlagCode.ACCOUNT_CLOSED
    assert [link for link, _cents in pay_links.issued] == (
        [attempt.debit.public_id] if code in ("AC04", "MD01") else [])
    assert session.scalar(select(ReturnImport.counts)) == result.counts


def test_a_mixed_camt054_settles_each_debit_its_own_way(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path) -> None:
    attempts = submitted(session, collectors, clock, merchant, 6)
    result = import_report(session, merchant.id, fill("camt054-mixed.xml", attempts, tmp_path),
                           collectors, source="test", actor="test")
    session.commit()
    assert statuses(session, attempts) == [
        ("collected", None), ("collected", None), ("scheduled", "AM04"), ("returned", "AC04"),
        ("returned", "MD01"), ("refunded", "MD06")]
    assert {k: v for k, v in result.counts.items() if v} == {"collected": 2, "returned": 3,
                                                             "refunded": 1}
    fourth = session.get(Debit, attempts[3].debit_id)
    assert fourth.reason_text == "Rekening opgeheven"  # the bank's own words are kept
    assert session.get(Debit, attempts[4].debit_id).reason_text == "No valid mandate"


def test_a_pain002_rejects_before_settlement_and_accepts_without_change(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path) -> None:
    attempts = submitted(session, collectors, clock, merchant, 4)
    result = import_report(session, merchant.id, fill("pain002-mixed.xml", attempts, tmp_path),
                           collectors, source="test", actor="test")
    session.commit()
    assert statuses(session, attempts) == [("scheduled", "AM04"), ("rejected", "AC04"),
                                           ("submitted", None), ("rejected", "MD01")]
    assert result.counts["accepted"] == 1 and result.counts["rejected"] == 3
    assert result.report.message_id == "PAIN002-MIXED-0001"
    first = session.get(Debit, attempts[0].debit_id)
    assert (first.attempt, first.reason_text) == (2, "Saldo ontoereikend")
    assert session.get(Debit, attempts[3].debit_id).reason_text == \
        "Geen machtiging bij debiteurbank"


def test_a_pain002_rejecting_the_whole_file_rejects_every_debit_in_it(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path) -> None:
    attempts = submitted(session, collectors, clock, merchant, 3)
    result = import_report(session, merchant.id,
                           fill("pain002-rejected-file.xml", attempts, tmp_path), collectors,
                           source="test", actor="test")
    assert statuses(session, attempts) == [("rejected", "FF01")] * 3
    assert result.counts["rejected"] == 3


@pytest.mark.parametrize("name", ["returns.csv", "returns-semicolon.csv"])
def test_a_csv_of_returns_for_banks_without_xml(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path, name: str) -> None:
    attempts = submitted(session, collectors, clock, merchant, 2)
    result = import_report(session, merchant.id, fill(name, attempts, tmp_path), collectors,
                           source="test", actor="test")
    if name == "returns.csv":
        assert statuses(session, attempts) == [("collected", None), ("scheduled", "AM04")]
    else:
        assert statuses(session, attempts)[0] == ("scheduled", "MS03")
    assert result.report.format.value == "csv"


def test_the_same_file_imported_twice_changes_nothing(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path) -> None:
    attempts = submitted(session, collectors, clock, merchant, 6)
    path = fill("camt054-mixed.xml", attempts, tmp_path)
    first = import_report(session, merchant.id, path, collectors, source="test", actor="test")
    session.commit()
    before = (statuses(session, attempts), counted(session, Event), counted(session, AuditEvent),
              counted(session, ReturnImport), len(pay_links.issued))
    again = import_report(session, merchant.id, path, collectors, source="test", actor="test")
    session.commit()
    assert again.duplicate and again.report.public_id == first.report.public_id
    assert (statuses(session, attempts), counted(session, Event), counted(session, AuditEvent),
            counted(session, ReturnImport), len(pay_links.issued)) == before


def test_a_report_repeating_known_outcomes_in_a_new_file_counts_them_unchanged(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder, tmp_path: Path) -> None:
    [attempt] = submitted(session, collectors, clock, merchant, 1)
    import_report(session, merchant.id, fill("camt054-ac04.xml", [attempt], tmp_path),
                  collectors, source="test", actor="test")
    resent = tmp_path / "resent.xml"
    resent.write_text((tmp_path / "camt054-ac04.xml").read_text().replace(
        "CAMT054-AC04-0001", "CAMT054-AC04-0002"))
    result = import_report(session, merchant.id, resent, collectors, source="test",
                           actor="test")
    assert not result.duplicate and result.counts["unchanged"] == 1
    assert statuses(session, [attempt]) == [("returned", "AC04")]
    assert len(pay_links.issued) == 1


def test_a_file_naming_unknown_debits_is_reported_line_by_line_and_changes_nothing(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        tmp_path: Path) -> None:
    attempts = submitted(session, collectors, clock, merchant, 6)
    path = fill("camt054-mixed.xml", attempts, tmp_path)
    path.write_text(path.read_text().replace(attempts[2].end_to_end_id, "NOT-OURS-1")
                    .replace(attempts[5].end_to_end_id, "NOT-OURS-2"))
    before = (counted(session, Event), counted(session, AuditEvent))
    with pytest.raises(UnknownDebits) as unknown:
        import_report(session, merchant.id, path, collectors, source="test", actor="test")
    session.rollback()
    assert [(line.position, line.end_to_end_id) for line in unknown.value.lines] == [
        (3, "NOT-OURS-1"), (6, "NOT-OURS-2")]
    assert unknown.value.total == 2
    assert statuses(session, attempts) == [("submitted", None)] * 6
    assert (counted(session, Event), counted(session, AuditEvent)) == before
    assert counted(session, ReturnImport) == 0


def test_another_merchants_debits_are_unknown(
        session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        tmp_path: Path) -> None:
    from tests.collections.conftest import collecting_merchant

    [attempt] = submitted(session, collectors, clock, merchant, 1)
    other = collecting_merchant(session)
    with pytest.raises(UnknownDebits):
        import_report(session, other.id, fill("camt054-collected.xml", [attempt], tmp_path),
                      collectors, source="test", actor="test")


@pytest.mark.parametrize("content", [
    (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x "x">]>\n<Document xmlns="urn:iso:std:'
    b'iso:20022:tech:xsd:camt.054.001.02"><x>&x;</x></Document>'),
    (b'<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "file:///etc/passwd">\n<Document xmlns="urn:'
    b'iso:std:iso:20022:tech:xsd:camt.054.001.02"/>'),
    b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><Ntry>',
    b'<Document xmlns="urn:example:other"/>',
    b"name,amount\nx,1\n",
    b"end_to_end_id,status\nE2E,paid\n",
])
def test_unreadable_or_dangerous_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "report"
    path.write_bytes(content)
    with pytest.raises(ReportError):
        _kind, lines = read_report(path)
        list(lines)
