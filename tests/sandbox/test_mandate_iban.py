"""The sandbox keeps the account of the mandates its first payments leave encrypted, like every
IBAN at rest; the migration encrypts the accounts stored before in clear."""

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
from portal.merchants.models import Merchant
from portal.sandbox.models import SandboxMandate
from portal.sandbox.provider import MANDATE_IBAN_CONTEXT, SandboxProvider
from tests.conftest import app_settings
from tests.factories import make_merchant
from tests.payments.conftest import make_request
from tests.payments.driver import Checkout

ACCOUNT = "NL18RABO0123459876"
BEFORE = "ad5b8c50e5fa"  # the head before 0013_provider_route


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session)
    session.commit()
    return merchant


def test_a_first_payment_leaves_a_mandate_whose_account_is_stored_encrypted(
        app: Flask, client, session: Session, merchant: Merchant) -> None:
    checkout = Checkout(app, client, session, make_request(session, merchant,
                                                           offer_mandate=True))
    checkout.pay("ideal", payer_iban="NL18 RABO 0123 4598 76", set_up="y", consent="y")
    stored = session.execute(text("SELECT consumer_iban_ciphertext FROM sandbox_mandate")
                             ).scalar()
    assert stored.startswith("v1.") and ACCOUNT not in stored
    assert FieldCipher(app.config["DATA_KEY"]).decrypt(stored, MANDATE_IBAN_CONTEXT) == ACCOUNT
    mandate = session.scalars(select(SandboxMandate)).one()
    remote = SandboxProvider(session, "http://localhost").get_mandate(mandate.customer_id,
                                                                     mandate.mandate_id)
    assert remote.consumer_iban == ACCOUNT


def _sandbox_mandate(engine, consumer_iban: str | None) -> None:
    tables = MetaData()
    tables.reflect(engine, only=["sandbox_mandate"])
    with engine.begin() as connection:
        connection.execute(insert(tables.tables["sandbox_mandate"]).values(
            mandate_id="mdt_sbx0123456789abcdef", customer_id="cst_sbx0123456789abcdef",
            method="directdebit", status="valid", consumer_name="Sam",
            consumer_iban=consumer_iban, created_at=datetime.now(UTC).replace(tzinfo=None)))


def test_the_migration_encrypts_existing_mandate_accounts_with_the_data_key(
        empty_database_url: str, tmp_path: Path) -> None:
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, BEFORE)
    _sandbox_mandate(engine, ACCOUNT)
    app = create_app({**app_settings(empty_database_url, tmp_path / "instance")})
    with app.app_context():
        migrate.upgrade(state(app).engine)
    with Session(engine) as session:
        [mandate] = session.scalars(select(SandboxMandate)).all()
        assert FieldCipher(app.config["DATA_KEY"]).decrypt(
            mandate.consumer_iban_ciphertext, MANDATE_IBAN_CONTEXT) == ACCOUNT
    columns = {c["name"] for c in inspect(engine).get_columns("sandbox_mandate")}
    assert "consumer_iban" not in columns
    state(app).engine.dispose()
    engine.dispose()


def test_the_migration_without_the_data_key_refuses_before_changing_anything(
        empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine, BEFORE)
    _sandbox_mandate(engine, ACCOUNT)
    with pytest.raises(RuntimeError, match="flask --app portal db upgrade"):
        migrate.upgrade(engine)
    assert "consumer_iban" in {c["name"] for c in inspect(engine).get_columns("sandbox_mandate")}
    engine.dispose()
