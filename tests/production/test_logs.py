"""No IBAN, token, secret, email or full name ever reaches a log line."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import state
from portal.jobs.service import run_due_jobs
from portal.logs import PortalHandler, scrub
from portal.webhooks.workers import deliver_due
from tests.api.conftest import ALL_SCOPES, basic, request_token, sign_and_activate
from tests.conftest import app_settings
from tests.factories import make_merchant
from tests.sign.driver import Journey
from tests.webhooks.receiver import Receiver


def test_whole_core_journey_logs_nothing_sensitive(
        app: Flask, journey: Journey, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    journey.open()
    journey.submit("NL18 RABO 0123 4598 76", name="Wilhelmina Verstappen-Oranje",
                   email="w.verstappen@example.org")
    journey.client.get(f"{journey.path}/nonexistent")  # a 404 on the way
    journey.follow(journey.pay("paid", payer_iban="DE89 3704 0044 0532 0130 00"))
    journey.client.post("/providers/sandbox/webhook", data={"id": "tr_sbxunknown000000000"})
    run_due_jobs(app)  # PDF sealing and the customer's mail

    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "activated by sandbox payment" in text  # the journey did log
    forbidden = [
        "NL18RABO0123459876", "NL18 RABO 0123 4598 76", "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00", "NL91ABNA0417164300",
        journey.token, app.config["SECRET_KEY"], app.config["DATA_KEY"],
        "Wilhelmina", "Verstappen", "w.verstappen@example.org", "sam@example.org",
    ]
    leaked = [item for item in forbidden if item in text]
    assert leaked == []


@pytest.mark.parametrize(("message", "secret"), [
    ("GET /sign/WyJpbnZfYWJjIiwxNzk2ODMyMjk2XQ.MPWVm6MUk9PYRUi8DmP31HCu_TI/done", "WyJpbnZf"),
    ("iban=NL91 ABNA 0417 1643 00 typed", "0417"),
    ("paid from DE89370400440532013000", "0532013000"),
    ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8G"),
    ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
    ("client_secret=s3cr3t&grant_type=client_credentials", "s3cr3t"),
    ("mollie key test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM", "dHar4XY7"),
    ("mail to someone@example.org failed", "someone@"),
])
def test_scrubber_removes_each_kind_of_secret(message: str, secret: str) -> None:
    assert secret not in scrub(message)


def test_scrubbing_applies_to_every_logger_and_traceback(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    try:
        raise ValueError("bad IBAN NL91ABNA0417164300")
    except ValueError:
        logging.getLogger("some.library").exception("failed for %s", "sam@example.org")
    assert "NL91ABNA0417164300" not in caplog.text and "sam@example.org" not in caplog.text
    assert "[iban]" in caplog.text and "[email]" in caplog.text


@pytest.mark.parametrize("message", [
    "Issue token {'token_type': 'Bearer', 'access_token': 'mpat_Zq3aW7bVnC4kR8sYdF1gJ6eUo-x_2h'}",
    "client cli_abc authenticated with sec_2hQm9xTpL0aW7bVnC4kR8sYdF1gJ6eUo",
    "retrying {\"secret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}",
    "opened https://portal.example/sign/WyJpbnZfYWJjIiwxNzk2ODMyMjk2XQ.MPWVm6MUk9PYRUi8DmP31HCu",
    "link WyJpbnZfYWJjIiwxNzk2ODMyMjk2XQ.MPWVm6MUk9PYRUi8DmP31HCu_TI sent",
    "short link https://portal.example/s/aB3dE5gH7j opened",
    "Authorization: Basic Y2xpX2FiYzpzZWNfZGVm",
    "form {'csrf_token': 'IjQ1ZjM2Yzg5'}",
    "session eyJfZnJlc2giOmZhbHNlfQ.Zq3a.kR8sYdF1gJ6eUo",
])
def test_every_token_shape_the_portal_issues_is_scrubbed(message: str) -> None:
    secret = {"mpat": "Zq3", "sec_": "2hQm9", "whsec": "MfKQ9", "sign/": "WyJpbnZf",
              "link": "WyJpbnZf", "/s/": "aB3dE5", "Basic": "Y2xpX2Fi", "csrf": "IjQ1Zj",
              "session": "eyJfZnJl"}
    hidden = next(value for key, value in secret.items() if key in message)
    assert hidden not in scrub(message)


def test_token_dicts_in_log_arguments_are_scrubbed(app: Flask,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    # `app`: creating the app installs the scrubbing record factory (not an earlier test)
    caplog.set_level(logging.DEBUG)
    token = {"token_type": "Bearer", "access_token": "mpat_" + "x1Y2z3" * 7, "scope": "a"}
    logging.getLogger("authlib.oauth2.rfc6749.grants").debug("Issue token %r to %r", token, 1)
    logging.getLogger("elsewhere").info({"client_secret": "plainvalue42", "n": 1})
    assert "x1Y2z3" not in caplog.text and "plainvalue42" not in caplog.text


def _secrets_from_flow(app: Flask, session: Session, receiver: Receiver) -> list[str]:
    """Run the merchant API from end to end; return every secret it handed out."""
    runner = app.test_cli_runner()
    merchant = make_merchant(session)
    session.commit()
    created = runner.invoke(args=["api-client", "create", "--merchant", merchant.public_id,
                                  "--name", "ERP", "--scopes", ALL_SCOPES])
    client_id = re.search(r"client_id:\s+(cli_\w+)", created.output).group(1)
    client_secret = re.search(r"client_secret:\s+(\S+)", created.output).group(1)
    configured = runner.invoke(args=["webhooks", "configure", "--merchant", merchant.public_id,
                                     "--url", receiver.url])
    webhook_secret = re.search(r"whsec_\S+", configured.output).group(0)

    client = app.test_client()
    by_basic = request_token(client, client_id, client_secret).get_json()["access_token"]
    by_post = client.post("/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": client_secret}).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {by_basic}"}
    by_mail = client.post("/api/v1/invitations", headers=bearer, json={
        "customer": {"name": "Sam de Vries", "email": "sam@example.org"},
        "send_via": "email"}).get_json()
    by_sms = client.post("/api/v1/invitations", headers=bearer, json={
        "customer": {"name": "Sam de Vries", "phone": "+31612345678"},
        "send_via": "sms"}).get_json()
    run_due_jobs(app)
    client.get(f"/api/v1/invitations/{by_mail['id']}", headers=bearer)
    client.get("/api/v1/mandates?limit=5", headers=bearer)
    client.get(f"/api/v1/events?access_token={by_post}")  # a careless client: refused, logged
    client.get(by_sms["short_url"].removeprefix(app.config["PUBLIC_BASE_URL"]))
    sign_and_activate(app, session, by_mail["id"])
    run_due_jobs(app)
    deliver_due(app)  # webhooks go out through the delivery workers, not the job queue
    client.get("/api/v1/events", headers=bearer)
    client.post("/api/v1/oauth/revoke", data={"token": by_post},
                headers=basic(client_id, client_secret))
    client.get("/api/v1/mandates", headers={"Authorization": f"Bearer {by_post}"})
    assert receiver.requests, "the webhook was delivered"
    tokens = [by_mail["signing_url"].rpartition("/sign/")[2],
              by_sms["signing_url"].rpartition("/sign/")[2]]
    codes = [by_mail["short_url"].rpartition("/")[2], by_sms["short_url"].rpartition("/")[2]]
    credentials = basic(client_id, client_secret)["Authorization"].removeprefix("Basic ")
    return [client_secret, by_basic, by_post, webhook_secret, credentials, *tokens, *codes,
            "sam@example.org", "+31612345678", "612345678"]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_whole_api_flow_at_debug_logs_no_secret(
        database_url: str, tmp_path: Path, log_format: str) -> None:
    app = create_app({**app_settings(database_url, tmp_path / "instance"), "LOG_LEVEL": "DEBUG",
                      "LOG_FORMAT": log_format, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True})
    stream = io.StringIO()
    handler = PortalHandler(log_format, stream)
    root = logging.getLogger()
    root.addHandler(handler)
    receiver = Receiver().start()
    try:
        with state(app).factory() as session:
            issued = _secrets_from_flow(app, session, receiver)
    finally:
        receiver.stop()
        root.removeHandler(handler)
        state(app).engine.dispose()
    log = stream.getvalue()
    assert "DEBUG" in log and "activated by sandbox payment" in log  # it did log, at DEBUG
    if log_format == "json":
        assert all(json.loads(line)["level"] for line in log.splitlines())
    assert [secret for secret in issued if secret in log] == []


#: Inputs that make backtracking patterns slow: long runs, many ``@`` or dots, almost-IBANs,
#: almost-tokens and almost-keys, each repeated to the length measured.
ADVERSARIAL = ["a", "7", "a_", "@", "a@", ".", "a.", "x@a.", "a.b@c.d", "NL91", "NL91ABNA041716430 ",
               "AB12 ", "mpat_sec_whsec_test_live_", "Bearer  ", "Basic ", "client_secret=token: ",
               "'token': '", "Wyabcdefgh.", ".eJabcdefg.abcd", "/sign/", "/s/", " "]


def _scrub_seconds(unit: str, size: int) -> float:
    """CPU seconds, not wall-clock: on a loaded machine a run waits for a core, but its CPU time
    is its own."""
    text = (unit * (size // len(unit) + 1))[:size]
    started = time.process_time()
    scrub(text)
    return time.process_time() - started


@pytest.mark.parametrize("unit", ADVERSARIAL)
def test_scrubbing_time_grows_linearly_up_to_a_megabyte_of_adversarial_input(unit: str) -> None:
    """Each tenfold step of input may cost at most 40× the time (linear is 10×, the quadratic
    email pattern was 100×) and a megabyte stays below a generous two seconds. Robust on a
    loaded machine: CPU time, both sizes of a step measured together, and a step over the
    bound measured twice more. Small steps first, so a quadratic scrubber fails in seconds."""
    for size in (1_000, 10_000, 100_000):
        steps = []
        for _ in range(3):
            small, large = _scrub_seconds(unit, size), _scrub_seconds(unit, 10 * size)
            steps.append((small, large))
            if large <= 40 * small + 0.02:
                break
        else:
            pytest.fail(f"scrubbing {10 * size} characters of {unit!r}: {steps}")
    assert large < 2.0
