"""Validation matches whole values: a trailing newline never slips past a ``^…$`` pattern (in
Python, ``$`` also matches before a final newline)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.merchants.service import MerchantInputError, create_merchant
from portal.webhooks.retries import MAX_RETRY_AFTER, parse_retry_after
from tests.factories import merchant_details

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("colour", ["#123456\n", "#123456\r\n", "\n#123456", "#1234567"])
def test_the_brand_colour_must_be_the_whole_value(session: Session, colour: str) -> None:
    with pytest.raises(MerchantInputError) as caught:
        create_merchant(session, merchant_details(primary_colour=colour))
    assert "primary_colour" in caught.value.errors


def test_a_request_id_with_a_trailing_newline_is_replaced_not_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": "abcdefgh12\n"})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-ID"])


def test_a_sandbox_webhook_id_with_a_trailing_newline_is_400(client: FlaskClient) -> None:
    response = client.post("/providers/sandbox/webhook", data={"id": "tr_sbx0123456789ab\n"})
    assert response.status_code == 400


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120), ("²", None), ("٣", None), ("99999999999999999999", None)])
def test_retry_after_takes_ascii_seconds_only_and_never_overflows(value: str,
                                                                  expected: int | None) -> None:
    delay = parse_retry_after(value, datetime.now(UTC))
    if expected is None:
        assert delay is None or delay == MAX_RETRY_AFTER
    else:
        assert delay.total_seconds() == expected


def test_no_validation_pattern_in_the_code_relies_on_dollar() -> None:
    """Compiled patterns ending in ``$`` are how the ``#123456\\n`` bug was written; JSON Schema
    patterns (ECMA-262, where ``$`` ends the input) are plain strings and are not compiled."""
    offenders = []
    for path in [*ROOT.glob("portal/**/*.py"), *ROOT.glob("signing/**/*.py")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"re\.(compile|match|search)\(r?[\"'].*\$[\"']", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []
