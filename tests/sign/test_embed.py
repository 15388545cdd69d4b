"""Embedding the signing page: framing only by listed origins, safe returns, no cookies needed."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.mandates.models import MandateStatus
from tests.factories import make_invitation, make_merchant
from tests.sign.driver import Journey, csrf_token, local

SHOP = "https://shop.example"


@pytest.fixture
def embedded(app: Flask, client, session: Session) -> Journey:
    merchant = make_merchant(session, frame_origins=(SHOP, "https://www.shop.example"))
    invitation = make_invitation(session, merchant)
    session.commit()
    return Journey(app, client, session, invitation)


def _query(origin: str = SHOP, return_to: str | None = f"{SHOP}/account/mandate") -> str:
    args = {"embed": "1", "origin": origin}
    if return_to:
        args["return_to"] = return_to
    return "?" + urlencode(args)


def _frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response.headers["Content-Security-Policy"]).group(1)


def test_listed_origin_may_frame_the_page(embedded: Journey) -> None:
    page = embedded.client.get(embedded.path + _query())
    assert page.status_code == 200
    assert _frame_ancestors(page) == f"{SHOP} https://www.shop.example"
    assert "X-Frame-Options" not in page.headers
    html = page.get_data(as_text=True)
    assert f'data-origin="{SHOP}"' in html and "embed-frame.js" in html
    assert 'class="embedded"' in html
    assert "Set-Cookie" not in page.headers  # nothing a third-party frame would lose


@pytest.mark.parametrize("origin", ["https://evil.example", "http://shop.example", "null", ""])
def test_other_origins_get_frame_ancestors_none(embedded: Journey, origin: str) -> None:
    page = embedded.client.get(embedded.path + _query(origin))
    assert _frame_ancestors(page) == "'none'" and page.headers["X-Frame-Options"] == "DENY"
    assert "embed-frame.js" not in page.get_data(as_text=True)


def test_plain_page_refuses_framing_even_for_listed_merchants(embedded: Journey) -> None:
    assert _frame_ancestors(embedded.open()) == "'none'"


def test_cached_repeat_visit_keeps_the_frame_policy(embedded: Journey) -> None:
    embedded.client.get(embedded.path + _query())
    again = embedded.client.get(embedded.path + _query())
    assert _frame_ancestors(again) == f"{SHOP} https://www.shop.example"
    assert _frame_ancestors(embedded.client.get(embedded.path)) == "'none'"


def _submit_embedded(journey: Journey, query: str):
    page = journey.client.get(journey.path + query)
    return journey.client.post(journey.path + query, data={
        "csrf_token": csrf_token(page), "name": "Sam", "email": "sam@example.org",
        "iban": "NL91ABNA0417164300", "consent": "y"})


def test_submitting_in_a_frame_asks_the_host_to_open_the_bank_top_level(
        embedded: Journey) -> None:
    response = _submit_embedded(embedded, _query())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    checkout = re.search(r'data-redirect="([^"]+)"', html).group(1)
    assert "/sandbox/checkout/" in checkout and 'data-event="redirect"' in html
    assert 'target="_top"' in html  # works without script too
    payment = embedded.payments()[-1]
    # The provider will send the customer back through the portal to the merchant's page.
    sandbox = embedded.client.get(local(checkout))
    paid = embedded.client.post(local(checkout), data={
        "csrf_token": csrf_token(sandbox), "issuer": "INGBNL2A", "outcome": "paid",
        "payer_name": "Sam", "payer_iban": ""})
    back = embedded.client.get(local(paid.headers["Location"]))
    assert back.status_code == 303 and back.headers["Location"] == f"{SHOP}/account/mandate"
    assert embedded.mandate().status == MandateStatus.ACTIVE
    assert payment.provider_payment_id
    signed = embedded.client.get(embedded.path + _query())
    assert signed.status_code == 200 and 'id="mandate-status"' in signed.get_data(as_text=True)
    assert 'data-event="signed"' in signed.get_data(as_text=True)


@pytest.mark.parametrize("return_to", [
    "https://evil.example/phish", "javascript:alert(1)", "//evil.example/x",
    "https://shop.example.evil.example/", "/relative/path"])
def test_return_never_leaves_for_an_unlisted_place(embedded: Journey, return_to: str) -> None:
    embedded.follow(embedded.pay("paid"))
    back = embedded.client.get(f"{embedded.path}/return?" + urlencode({"return_to": return_to}))
    assert back.status_code == 303 and back.headers["Location"].startswith("/sign/")


def test_refusal_pages_tell_the_host(embedded: Journey, app: Flask) -> None:
    embedded.invitation.mandate.status = MandateStatus.CANCELLED
    embedded.session.commit()
    page = embedded.client.get(embedded.path + _query())
    assert page.status_code == 410
    assert 'data-event="failed"' in page.get_data(as_text=True)
    assert _frame_ancestors(page) == f"{SHOP} https://www.shop.example"


def test_embed_script_is_long_cached_and_its_sri_hash_is_documented(client) -> None:
    response = client.get("/embed/v1.js")
    assert response.mimetype == "text/javascript"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    digest = base64.b64encode(hashlib.sha384(response.data).digest()).decode()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"sha384-{digest}" in readme, "update the SRI hash of embed.js in README.md"


def test_embedded_page_offers_a_close_button(embedded: Journey) -> None:
    html = embedded.client.get(embedded.path + _query()).get_data(as_text=True)
    assert 'id="embed-close"' in html
    assert 'id="embed-close"' not in embedded.open().get_data(as_text=True)
