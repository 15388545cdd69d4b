"""Creating merchants: validation, uniqueness, the CLI and the idempotent demo."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.mandates.models import Invitation
from portal.merchants.models import Merchant
from portal.merchants.service import MerchantInputError, create_merchant, normalise_origin
from portal.webhooks.secrets import current_secret
from tests.factories import make_merchant, merchant_details


def test_valid_merchant_is_stored_normalised(session: Session) -> None:
    merchant = make_merchant(session, creditor_id="de98 zzz0 9999 9999 99",
                             frame_origins=("https://Shop.Example/", "https://shop.example"))
    assert merchant.creditor_id == "DE98ZZZ09999999999"
    assert merchant.frame_origins == ["https://shop.example"]
    assert merchant.public_id.startswith("mer_")


@pytest.mark.parametrize(("field", "value"), [
    ("creditor_id", "DE99ZZZ09999999999"),
    ("primary_colour", "red; background:url(x)"),
    ("primary_colour", "#123456\n"),
    ("primary_colour", "#123456\x00"),
    ("primary_colour", "\n#123456"),
    ("country", "N\nL"),
    ("legal_name", "Bakkerij\r\nBcc: x@example.org"),
    ("display_name", "Bakkerij\r\nBcc: x@example.org"),
    ("display_name", "Bakkerij \u202elob"),
    ("city", "Utrecht\x1b[2J"),
    ("locale", "xx"),
    ("country", "Netherlands"),
    ("legal_name", "  "),
    ("frame_origins", ("http://evil.example",)),
    ("frame_origins", ("https://shop.example/path",)),
])
def test_invalid_field_is_named_in_the_error(session: Session, field: str, value: object) -> None:
    with pytest.raises(MerchantInputError) as caught:
        create_merchant(session, merchant_details(**{field: value}))
    assert field in caught.value.errors


def test_creditor_id_is_unique(session: Session) -> None:
    make_merchant(session, creditor_id="DE98ZZZ09999999999")
    with pytest.raises(MerchantInputError, match="already used"):
        make_merchant(session, creditor_id="DE98ZZZ09999999999")


def test_loopback_http_origin_is_allowed_for_development() -> None:
    assert normalise_origin("http://127.0.0.2:8000") == "http://127.0.0.2:8000"


def test_cli_creates_a_merchant(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=[
        "merchant", "create", "--legal-name", "Bakkerij B.V.", "--address", "Dorpsstraat 3",
        "--postal-code", "1234 AB", "--city", "Utrecht", "--country", "NL",
        "--creditor-id", "DE98ZZZ09999999999"])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(Merchant.legal_name)) == "Bakkerij B.V."


def test_cli_reports_invalid_input_without_a_traceback(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=[
        "merchant", "create", "--legal-name", "X", "--address", "Y", "--postal-code", "1",
        "--city", "Z", "--country", "NL", "--creditor-id", "NOPE"])
    assert result.exit_code == 2 and "creditor_id" in result.output


def test_demo_is_idempotent_for_the_merchant(runner: FlaskCliRunner, session: Session) -> None:
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == second.exit_code == 0
    assert "http://localhost/sign/" in first.output
    assert session.scalar(select(func.count()).select_from(Merchant)) == 1
    # each run makes a fresh Core invitation and, with the sandbox bank, a B2B one
    per_run = first.output.count("/sign/")
    assert per_run == second.output.count("/sign/") == 2
    assert session.scalar(select(func.count()).select_from(Invitation)) == 2 * per_run


def test_cli_refuses_a_display_name_with_a_line_break(runner: FlaskCliRunner,
                                                     session: Session) -> None:
    result = runner.invoke(args=[
        "merchant", "create", "--legal-name", "Bakkerij B.V.", "--address", "Dorpsstraat 3",
        "--postal-code", "1234 AB", "--city", "Utrecht", "--country", "NL",
        "--creditor-id", "DE98ZZZ09999999999", "--display-name", "Bol\r\nBcc: x@example.org"])
    assert result.exit_code == 2 and "display_name" in result.output
    assert session.scalar(select(func.count()).select_from(Merchant)) == 0


def test_merchant_names_are_stored_nfc_normalised(session: Session) -> None:
    merchant = make_merchant(session, legal_name="Cafe\u0301 B.V.", display_name=" Cafe\u0301 ")
    assert (merchant.legal_name, merchant.display_name) == ("Caf\u00e9 B.V.", "Caf\u00e9")


def test_cli_with_a_webhook_url_prints_its_secret_once(runner: FlaskCliRunner,
                                                       session: Session) -> None:
    result = runner.invoke(args=[
        "merchant", "create", "--legal-name", "Hooks B.V.", "--address", "Dorpsstraat 3",
        "--postal-code", "1234 AB", "--city", "Utrecht", "--country", "NL",
        "--creditor-id", "DE98ZZZ09999999999", "--webhook-url", "https://erp.example/hooks"])
    assert result.exit_code == 0, result.output
    merchant = session.scalar(select(Merchant))
    assert merchant.webhook_url == "https://erp.example/hooks"
    secret = current_secret(session, merchant)
    assert f"webhook secret (shown once): {secret}" in result.output
    assert secret.startswith("whsec_") and secret not in merchant.webhook_secret


def test_the_demo_merchant_has_a_creditor_identifier_of_its_own_country() -> None:
    from portal.cli import DEMO_MERCHANT
    from portal.sepa import validate_creditor_id

    assert validate_creditor_id(DEMO_MERCHANT.creditor_id) == DEMO_MERCHANT.creditor_id
    assert DEMO_MERCHANT.creditor_id[:2] == DEMO_MERCHANT.country == "NL"
