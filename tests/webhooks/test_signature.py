"""Signatures agree with the specification and with the independent standardwebhooks package."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from portal.webhooks import signature
from tests.webhooks.conftest import spec_signature

BODY = '{"id":"evt_1","type":"mandate.active","data":{"naïve":"€"}}'.encode()


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = signature.new_secret(), signature.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_sign_matches_the_spec_and_the_package() -> None:
    secret, now = signature.new_secret(), int(time.time())
    ours = signature.sign(secret, "evt_1", now, BODY)
    assert ours == spec_signature(secret, "evt_1", str(now), BODY)
    assert ours == Webhook(secret).sign("evt_1", datetime.fromtimestamp(now, UTC), BODY.decode())


def test_the_package_verifies_a_header_with_two_signatures_by_either_secret() -> None:
    old, new, now = signature.new_secret(), signature.new_secret(), int(time.time())
    header = signature.signature_header([new, old], "evt_1", now, BODY)
    assert len(header.split(" ")) == 2
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now), "webhook-signature": header}
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers)["id"] == "evt_1"
        assert signature.verify(secret, "evt_1", str(now), BODY, header)
    assert not signature.verify(signature.new_secret(), "evt_1", str(now), BODY, header)


@pytest.mark.parametrize("change", ["body", "id", "timestamp", "stale", "garbage"])
def test_verify_refuses_anything_altered_or_stale(change: str) -> None:
    secret, now = signature.new_secret(), int(time.time())
    header = signature.sign(secret, "evt_1", now, BODY)
    msg_id, stamp, body = "evt_1", str(now), BODY
    if change == "body":
        body = BODY.replace(b"active", b"revoked")
    elif change == "id":
        msg_id = "evt_2"
    elif change == "timestamp":
        stamp = str(now + 1)
    elif change == "stale":
        stamp, header = str(now - 600), signature.sign(secret, "evt_1", now - 600, BODY)
    else:
        header = "v2,abc v1 nonsense"
    assert not signature.verify(secret, msg_id, stamp, body, header)


def test_ids_with_dots_and_malformed_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        signature.sign(signature.new_secret(), "evt.1", 1, BODY)
    for bad in ("secret", "whsec_***", "whsec_"):
        with pytest.raises(ValueError):
            signature.secret_key(bad)
