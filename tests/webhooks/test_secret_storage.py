"""Webhook signing secrets are encrypted at rest; revision b8a6ca337c34 encrypts those stored
before it (and stored idempotent answers), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.orm import Session

from portal import migrate
from portal.crypto import FieldCipher
from portal.db import make_engine
from portal.merchants.models import Merchant
from portal.webhooks.secrets import signing_secrets
from portal.webhooks.service import configure_endpoint, rotate_secret
from tests.factories import make_merchant
from tests.migration_rows import merchant_row


def test_secrets_are_stored_encrypted_and_sign_in_clear(app: Flask, session: Session) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        first = configure_endpoint(session, merchant, "https://hooks.example/portal")
        second = rotate_secret(session, merchant)
    session.commit()
    stored = session.execute(text("SELECT webhook_secret, webhook_previous_secret FROM merchant"
                                  )).one()
    assert all(value.startswith("v1.") for value in stored)
    assert first not in str(stored) and second not in str(stored)
    assert signing_secrets(merchant, merchant.created_at) == [second, first]
    # Values cannot be swapped between the columns: each is bound to its own.
    session.execute(text("UPDATE merchant SET webhook_secret = webhook_previous_secret"))
    session.commit()
    session.expire_all()
    with pytest.raises(ValueError):
        signing_secrets(session.get(Merchant, merchant.id), merchant.created_at)


def test_upgrade_encrypts_secrets_and_answers_stored_before(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    cipher = FieldCipher("migration-data-key")
    secret, previous = "whsec_" + "A" * 43 + "=", "whsec_" + "B" * 43 + "="
    body = '{"signing_url": "https://portal.example/sign/secret-token"}'
    try:
        migrate.upgrade(engine, "ad5b8c50e5fa")
        tables = MetaData()
        tables.reflect(engine, only=["merchant", "api_idempotency_key"])
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with engine.begin() as connection:
            connection.execute(insert(tables.tables["merchant"]).values(merchant_row(
                now, webhook_url="https://hooks.example/", webhook_secret=secret,
                webhook_previous_secret=previous,
                webhook_previous_secret_expires_at=now + timedelta(hours=1))))
            connection.execute(insert(tables.tables["api_idempotency_key"]).values(
                id=1, merchant_id=1, key="k", method="POST", path="/api/v1/invitations",
                request_sha256="0" * 64, locked=False, response_status=201, response_body=body,
                created_at=now))
        with pytest.raises(RuntimeError, match="flask --app portal db upgrade"):
            migrate.upgrade(engine)
        migrate.upgrade(engine, cipher=cipher)
        migrate.check(engine)
        with Session(engine, info={"cipher": cipher}) as session:
            raw = session.execute(text("SELECT webhook_secret, webhook_previous_secret "
                                       "FROM merchant")).one()
            assert "whsec_" not in str(raw)
            merchant = session.get(Merchant, 1)
            assert signing_secrets(merchant, datetime.now(UTC)) == [secret, previous]
            stored = session.scalar(text("SELECT response_body FROM api_idempotency_key"))
            assert "secret-token" not in stored
            assert cipher.decrypt(stored, "api_idempotency_key.response_body") == body
            assert session.scalar(select(Merchant.webhook_url)) == "https://hooks.example/"
    finally:
        engine.dispose()
