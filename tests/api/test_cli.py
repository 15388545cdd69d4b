"""``flask api-client create | list | revoke``: the secret is shown once and works."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.models import ApiClient
from tests.api.conftest import request_token
from tests.factories import make_merchant


def test_create_list_and_revoke_a_client(app: Flask, runner: FlaskCliRunner,
                                         session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    created = runner.invoke(args=["api-client", "create", "--merchant", merchant.public_id,
                                  "--name", "ERP", "--scopes",
                                  "mandates:read mandates:write events:read"])
    assert created.exit_code == 0, created.output
    client_id = re.search(r"client_id:\s+(cli_\w+)", created.output).group(1)
    secret = re.search(r"client_secret:\s+(\S+)", created.output).group(1)
    stored = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    assert stored.scopes == "mandates:read mandates:write events:read"
    assert secret not in stored.secret_hash and stored.secret_hash.startswith("sha256$")

    client = app.test_client()
    assert request_token(client, client_id, secret).status_code == 200

    listed = runner.invoke(args=["api-client", "list", "--merchant", merchant.public_id])
    assert client_id in listed.output and "active" in listed.output and "ERP" in listed.output
    assert secret not in listed.output

    revoked = runner.invoke(args=["api-client", "revoke", client_id])
    assert revoked.exit_code == 0 and f"revoked {client_id}" in revoked.output
    assert request_token(client, client_id, secret).status_code == 401
    assert "revoked" in runner.invoke(args=["api-client", "list"]).output


def test_create_refuses_unknown_merchants_and_scopes(runner: FlaskCliRunner,
                                                    session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    unknown = runner.invoke(args=["api-client", "create", "--merchant", "mer_nobody",
                                  "--name", "ERP"])
    assert unknown.exit_code != 0 and "no merchant mer_nobody" in unknown.output
    bad_scope = runner.invoke(args=["api-client", "create", "--merchant", merchant.public_id,
                                    "--name", "ERP", "--scopes", "mandates:read admin"])
    assert bad_scope.exit_code != 0 and "unknown scope(s): admin" in bad_scope.output
    assert session.scalar(select(ApiClient)) is None
    missing = runner.invoke(args=["api-client", "revoke", "cli_nobody"])
    assert missing.exit_code == 1
