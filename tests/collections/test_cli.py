"""The collections commands: settings, a run, importing returns (unknown lines reported, exit
1), and the demo's simulated cycle from signature to pay link (both databases)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.models import CollectionSettings, Debit, DebitAttempt, DebitStatus
from portal.collections.sandbox_bank import TEST_ACCOUNTS
from portal.merchants.models import Merchant
from tests.collections.conftest import Clock, active_mandate, debit_on
from tests.collections.test_returns_import import fill
from tests.factories import make_merchant


def test_configure_validates_and_stores_the_settings(runner: FlaskCliRunner,
                                                     session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    bad = runner.invoke(args=["collections", "configure", "--merchant", merchant.public_id,
                              "--creditor-iban", "NL00XXXX", "--retry-delays", "5"])
    assert bad.exit_code == 2 and "creditor_iban" in bad.output and "retry_delays" in bad.output
    good = runner.invoke(args=["collections", "configure", "--merchant", merchant.public_id,
                               "--creditor-iban", "NL91 ABNA 0417 1643 00", "--pain-version",
                               "pain.008.001.08", "--retry-delays", "3,7", "--lead-days", "1"])
    assert good.exit_code == 0, good.output
    row = session.scalar(select(CollectionSettings))
    assert (row.creditor_iban, row.pain_version.value, row.retry_delays_days, row.lead_days) == (
        "NL91ABNA0417164300", "pain.008.001.08", [3, 7], 1)


def test_import_returns_reports_unknown_lines_and_applies_known_ones(
        app: Flask, runner: FlaskCliRunner, session: Session, merchant: Merchant,
        collectors, clock: Clock, tmp_path: Path) -> None:
    debit_on(session, collectors, active_mandate(session, merchant))
    session.commit()
    clock.advance(days=5)
    exported = runner.invoke(args=["collections", "export", "--merchant", merchant.public_id])
    assert exported.exit_code == 0 and "bat_" in exported.output, exported.output
    attempt = session.scalar(select(DebitAttempt))
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("end_to_end_id,status,reason_code,reason_text\nNOPE,returned,AM04,\n")
    refused = runner.invoke(args=["collections", "import-returns", "--merchant",
                                  merchant.public_id, str(unknown)])
    assert refused.exit_code == 1 and "line 2: NOPE: no debit" in refused.output
    path = fill("camt054-collected.xml", [attempt], tmp_path)
    done = runner.invoke(args=["collections", "import-returns", "--merchant",
                               merchant.public_id, str(path)])
    assert done.exit_code == 0 and "collected 1" in done.output, done.output
    again = runner.invoke(args=["collections", "import-returns", "--merchant",
                                merchant.public_id, str(path)])
    assert "already imported: nothing changed" in again.output
    session.expire_all()
    assert session.scalar(select(Debit.status)) == DebitStatus.COLLECTED


def test_the_demo_simulation_runs_sign_collect_return_retry_and_pay_link(
        app: Flask, runner: FlaskCliRunner, session: Session, merchant: Merchant) -> None:
    mandate = active_mandate(session, merchant, iban=TEST_ACCOUNTS[0].iban)  # AM04 every time
    session.commit()
    result = runner.invoke(args=["collections", "simulate", "--mandate", mandate.public_id])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "AM04 insufficient funds, every time" in lines[0]
    kinds = [line.split()[1] for line in lines[1:-1]]
    assert kinds == ["debit.scheduled", "debit.submitted", "debit.failed",
                     "debit.retry_scheduled", "debit.submitted", "debit.failed",
                     "debit.retry_scheduled", "debit.submitted", "debit.failed"]
    assert "no more attempts; pay link" in lines[-2]
    assert lines[-1].startswith("debit returned")
    assert isinstance(app.config["CLOCK"], Clock)  # the app's own clock is back afterwards


def test_a_merchant_chooses_the_provider_route_and_not_an_unknown_one(
        runner: FlaskCliRunner, session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    result = runner.invoke(args=["collections", "configure", "--merchant", merchant.public_id,
                                 "--route", "provider"])
    assert result.exit_code == 0 and "route provider" in result.output
    session.expire_all()
    row = session.scalars(select(CollectionSettings).where(
        CollectionSettings.merchant_id == merchant.id)).one()
    assert row.route.value == "provider"
    wrong = runner.invoke(args=["collections", "configure", "--merchant", merchant.public_id,
                                "--route", "cash"])
    assert wrong.exit_code == 2 and "route" in wrong.output
