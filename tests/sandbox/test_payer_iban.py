"""The sandbox keeps the payer's IBAN encrypted like every IBAN at rest, and its checkout page
(open to anyone with its URL) never shows the IBAN the customer typed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, insert, inspect, select, text
from sqlalchemy.orm import Session

from portal import create_app, migrate
from portal.crypto import FieldCipher
from portal.db import make_engine, state
from portal.sandbox.models import SandboxPayment
from portal.sandbox.provider import PAYER_IBAN_CONTEXT
from tests.conftest import app_settings
from tests.sign.driver import Journey, local

TYPED, PAID_FROM = "NL91ABNA0417164300", "DE89370400440532013000"
BEFORE = "0951bd3c9288"  # the head before 0009_sandbox_payer_iban


def test_the_checkout_page_shows_the_typed_iban_masked_only(journey: Journey) -> None:
    started = journey.submit("NL91 ABNA 0417 1643 00")
    page = journey.client.get(local(started.headers["Location"])).get_data(as_text=True)
    assert TYPED not in page and "NL91 ABNA 0417 1643 00" not in page and "0417" not in page
    assert "NL91 •••• •••• ••43 00" in page


def test_a_paid_sandbox_payment_stores_its_iban_encrypted(app: Flask, journey: Journey,
                                                          session: Session) -> None:
    journey.follow(journey.pay("paid", payer_iban="DE89 3704 0044 0532 0130 00"))
    stored = session.execute(text("SELECT payer_iban_ciphertext FROM sandbox_payment")).scalar()
    assert stored.startswith("v1.") and PAID_FROM not in stored
    cipher = FieldCipher(app.config["DATA_KEY"])
    assert cipher.decrypt(stored, PAYER_IBAN_CONTEXT) == PAID_FROM
    assert journey.mandate().iban_masked == "DE89 •••• •••• •••• ••30 00"  # as the bank said


def test_leaving_the_field_empty_pays_from_the_typed_account(journey: Journey) -> None:
    journey.follow(journey.pay("paid"))
    assert journey.mandate().iban_masked == "NL91 •••• •••• ••43 00"


def _sandbox_payment(engine, payer_iban: str | None) -> None:
    tables = MetaData()
    tables.reflect(engine, only=["sandbox_payment"])
    with engine.begin() as connection:
        connection.execute(insert(tables.tables["sandbox_payment"]).values(
            payment_id="tr_sbx0123456789abcdef", amount_cents=1, currency="EUR",
            description="d", redirect_url="http://x/", metadata={}, customer_name="Sam",
            locale="nl", status="paid", payer_iban=payer_iban,
            created_at=datetime.now(UTC).replace(tzinfo=None)))


def test_the_migration_encrypts_existing_payer_ibans_with_the_data_key(
        empty_database_url: str, tmp_path: Path) -> None:
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, BEFORE)
    _sandbox_payment(engine, TYPED)
    app = create_app({**app_settings(empty_database_url, tmp_path / "instance")})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        [payment] = session.scalars(select(SandboxPayment)).all()
        assert FieldCipher(app.config["DATA_KEY"]).decrypt(
            payment.payer_iban_ciphertext, PAYER_IBAN_CONTEXT) == TYPED
    assert "payer_iban" not in {c["name"] for c in inspect(engine).get_columns("sandbox_payment")}
    state(app).engine.dispose()
    engine.dispose()


def test_the_migration_without_the_data_key_refuses_before_changing_anything(
        empty_database_url: str, tmp_path: Path) -> None:
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, BEFORE)
    _sandbox_payment(engine, TYPED)
    with pytest.raises(RuntimeError, match="flask --app portal db upgrade"):
        migrate.upgrade(engine)
    # Nor does a running app lend its key: a migration uses only the key it is given.
    app = create_app({**app_settings(empty_database_url, tmp_path / "instance")})
    with app.app_context(), pytest.raises(RuntimeError, match="flask --app portal db upgrade"):
        migrate.upgrade(state(app).engine)
    state(app).engine.dispose()
    assert "payer_iban" in {c["name"] for c in inspect(engine).get_columns("sandbox_payment")}
    engine.dispose()
