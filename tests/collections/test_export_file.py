"""The file itself: totals declared up front must match what was written, a file outside the
XSD is never kept, and the sandbox bank is refused in production."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from portal.collections.export_file import build_pain008_file
from portal.collections.files import CollectionFileStore
from portal.collections.pain008 import ControlSumMismatch, Creditor, PaymentGroup, Transaction
from portal.collections.routes import bank_route_name
from portal.collections.xsd import InvalidDocument
from portal.config import DEFAULTS, ConfigurationError

CREDITOR = Creditor("Demo B.V.", "NL91ABNA0417164300", "ABNANL2A", "DE98ZZZ09999999999")


def transactions(count: int, **overrides) -> list[Transaction]:
    return [Transaction(**{"end_to_end_id": f"E2E-{n}", "amount_cents": 1000,
                           "mandate_id": f"MD-{n}", "signed_on": date(2026, 1, 1),
                           "debtor_name": "Sam", "debtor_iban": "NL02ABNA0123456789",
                           "debtor_bic": None, "remittance": "x", **overrides})
            for n in range(count)]


def build(store: CollectionFileStore, group: PaymentGroup, version: str = "pain.008.001.02"):
    return build_pain008_file(store, version=version, message_id="MSG-1",
                              created_at=datetime(2026, 3, 25, 10, tzinfo=UTC).replace(
                                  tzinfo=None), initiating_party="Demo", creditor=CREDITOR,
                              groups=[group])


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_valid_file_is_kept_under_its_hash(tmp_path: Path) -> None:
    store = CollectionFileStore(tmp_path)
    written = build(store, PaymentGroup("P1", "CORE", "RCUR", date(2026, 4, 7), 3, 3000,
                                        iter(transactions(3))))
    assert (written.count, written.sum_cents) == (3, 3000)
    assert stored_files(tmp_path) == [written.path]
    assert written.path.name == written.sha256


def test_declared_totals_that_differ_from_the_transactions_abort_the_file(
        tmp_path: Path) -> None:
    store = CollectionFileStore(tmp_path)
    with pytest.raises(ControlSumMismatch):
        build(store, PaymentGroup("P1", "CORE", "RCUR", date(2026, 4, 7), 3, 3001,
                                  iter(transactions(3))))
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize("version", ["pain.008.001.02", "pain.008.001.08"])
def test_a_file_outside_the_xsd_is_never_kept(tmp_path: Path, version: str) -> None:
    store = CollectionFileStore(tmp_path)
    too_long = transactions(1, end_to_end_id="E" * 36)  # Max35Text
    with pytest.raises(InvalidDocument, match="EndToEndId"):
        build(store, PaymentGroup("P1", "CORE", "RCUR", date(2026, 4, 7), 1, 1000,
                                  iter(too_long)), version)
    assert stored_files(tmp_path) == []


def test_the_sandbox_bank_is_refused_in_production_unless_allowed() -> None:
    config = {**DEFAULTS, "ENV": "production"}
    assert bank_route_name(config) == "manual"
    with pytest.raises(ConfigurationError,
                       match="PORTAL_COLLECTION_BANK=sandbox while PORTAL_ENV=production"):
        bank_route_name({**config, "COLLECTION_BANK": "sandbox"})
    assert bank_route_name({**config, "COLLECTION_BANK": "sandbox",
                            "SANDBOX_IN_PRODUCTION": True}) == "sandbox"
    assert bank_route_name({**DEFAULTS}) == "sandbox"
    with pytest.raises(ConfigurationError):
        bank_route_name({**DEFAULTS, "COLLECTION_BANK": "ftp"})


def test_an_export_whose_file_fails_validation_changes_nothing(
        app, session, merchant, collectors, clock) -> None:
    from sqlalchemy import func, select

    from portal.collections.batches import ExportRefused, export_batches
    from portal.collections.models import Batch, Debit, DebitAttempt, DebitStatus
    from tests.collections.conftest import active_mandate, debit_on

    debit = debit_on(session, collectors, active_mandate(session, merchant))
    session.commit()
    debit.mandate.bic = "XXXX"  # a BIC the XSD refuses
    clock.advance(days=5)
    with pytest.raises(ExportRefused, match="did not pass"):
        export_batches(session, merchant.id, collectors, actor="test")
    session.rollback()
    assert session.get(Debit, debit.id).status == DebitStatus.SCHEDULED
    assert session.scalar(select(func.count()).select_from(DebitAttempt)) == 0
    assert session.scalar(select(func.count()).select_from(Batch)) == 0
    assert stored_files(collectors.store.root) == []
