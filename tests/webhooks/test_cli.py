"""``flask --app portal webhooks …``: the operator's handle on endpoints and deliveries."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from tests.webhooks.conftest import Clock, emit, package_verifies, run_all
from tests.webhooks.receiver import Receiver


def _invoke(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["webhooks", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_the_command_line_configures_rotates_replays_and_lists_attempts(
        app: Flask, runner: FlaskCliRunner, session: Session, merchant: Merchant,
        receiver: Receiver, clock: Clock) -> None:
    who = ("--merchant", merchant.public_id)
    secret = _invoke(runner, "configure", *who, "--url", receiver.url,
                     "--contact-email", "Tech@Merchant.example")
    assert secret.startswith("whsec_")
    session.expire_all()
    assert merchant.contact_email == "Tech@merchant.example"

    event = emit(app, session, merchant)
    run_all(app)
    assert package_verifies(secret, receiver.requests[0])

    new = _invoke(runner, "rotate-secret", *who, "--overlap-hours", "1")
    assert new.startswith("whsec_") and new != secret
    delivery_id = _invoke(runner, "replay", *who, "--event", event.public_id)
    assert delivery_id.startswith("whk_")
    run_all(app)
    assert package_verifies(secret, receiver.requests[1])
    assert package_verifies(new, receiver.requests[1])

    lines = _invoke(runner, "attempts", *who, "--event", event.public_id).splitlines()
    assert len(lines) == 2 and all(event.public_id in line and " 200 " in line for line in lines)
    assert "0 failed deliveries" in _invoke(runner, "replay-failed", *who)
    assert "0 waiting deliveries" in _invoke(runner, "enable", *who)
    stats = json.loads(_invoke(runner, "stats"))
    assert stats["succeeded"] == 2 and stats["pending"] == 0
    assert "1 pending" not in _invoke(runner, "remove", *who)


def test_unknown_merchants_events_and_bad_urls_are_clean_errors(
        runner: FlaskCliRunner, merchant: Merchant, clock: Clock) -> None:
    result = runner.invoke(args=["webhooks", "enable", "--merchant", "mer_nope"])
    assert result.exit_code == 1 and "no merchant mer_nope" in result.output
    result = runner.invoke(args=["webhooks", "configure", "--merchant", merchant.public_id,
                                 "--url", "ftp://x"])
    assert result.exit_code == 1 and "http://" in result.output
    result = runner.invoke(args=["webhooks", "replay", "--merchant", merchant.public_id,
                                 "--event", "evt_nope"])
    assert result.exit_code == 1 and "no event evt_nope" in result.output
