"""A customer pays a payment request from its QR code on a phone, in Dutch: the QR code's URL,
the sandbox iDEAL page, the outcome page with the receipt, the receipt email, and back to the
merchant's page. On a desktop the checkout shows its QR code."""

from __future__ import annotations

import io
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.clock import utcnow
from portal.jobs.service import run_due_jobs
from portal.payments.links import make_checkout_token
from portal.payments.service import (
    CustomerDetails,
    PaymentSettings,
    RequestSpec,
    create_payment_request,
)
from tests.browser.conftest import ACTION_TIMEOUT_MS
from tests.factories import make_merchant

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
NBSP = "\u00a0"


@pytest.fixture
def shop() -> Iterator[str]:
    """The merchant's own site, where the checkout sends the customer back to."""
    @Request.application
    def page(request: Request) -> Response:
        return Response("<!doctype html><title>Shop</title><h1 id='shop'>Bedankt voor uw "
                        f"bestelling {request.args.get('order', '')}</h1>", mimetype="text/html")

    server = make_server("127.0.0.1", 0, page, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def pay_link(app: Flask, session: Session, live_server: str, shop: str) -> str:
    """A Dutch customer's payment request, committed; the checkout URL on the live server."""
    merchant = make_merchant(session, display_name="Sportclub De Ronde")
    now = utcnow()
    request = create_payment_request(session, merchant, RequestSpec(
        amount_cents=4250, description="Contributie maart", invoice_number="2030-0042",
        customer=CustomerDetails(name="Sam de Vries", email="sam@example.org", locale="nl"),
        due_date=(now + timedelta(days=14)).date(), expires_at=now + timedelta(days=30),
        return_url=f"{shop}/orders?order=42"), actor="test", now=now,
        settings=PaymentSettings())
    session.commit()
    return f"{live_server}/pay/{make_checkout_token(request.public_id, app.config['SECRET_KEY'])}"


def _decode_qr(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        image = Image.open(io.BytesIO(answer.read()))
    [code] = zxingcpp.read_barcodes(image)
    return code.text


def test_paying_from_the_qr_code_on_a_phone_in_dutch_with_receipt_and_return(
        phone_page: Page, pay_link: str, app: Flask, shop: str, live_server: str,
        screenshots: Path) -> None:
    page = phone_page
    scanned = _decode_qr(f"{pay_link}/qr.png")
    assert scanned.startswith(f"{live_server}/s/")
    page.goto(scanned)  # the phone opens what its camera read: the short link
    page.wait_for_url(f"{pay_link}")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Betaal €{NBSP}42,50 aan Sportclub De Ronde")
    expect(page.locator("#invoice-number")).to_have_text("2030-0042")
    expect(page.locator(".pay-on-phone")).to_be_hidden()  # already on the phone
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    page.screenshot(path=screenshots / "checkout-1-page.png", full_page=True)
    page.get_by_label("iDEAL").check()
    page.locator("#pay-submit").tap()

    page.wait_for_url("**/sandbox/checkout/tr_sbx*")
    page.get_by_role("radio", name="ING", exact=True).check()
    page.get_by_role("radio", name="Betaald", exact=True).check()  # the bank speaks Dutch too
    page.locator("#sandbox-submit").tap()

    page.wait_for_url("**/done?payment=ptx_*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bedankt, u hebt betaald")
    expect(page.locator("#receipt-amount")).to_have_text(f"€{NBSP}42,50")
    expect(page.locator("#receipt-sent")).to_contain_text("sam@example.org")
    page.screenshot(path=screenshots / "checkout-2-paid.png", full_page=True)

    run_due_jobs(app)
    [mail] = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    receipt = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert receipt["Subject"] == f"Betaalbewijs: u hebt €{NBSP}42,50 betaald aan " \
                                 "Sportclub De Ronde"
    assert "2030-0042" in receipt.get_body(("plain",)).get_content()

    page.get_by_role("link", name="Terug naar Sportclub De Ronde").tap()
    page.wait_for_url(f"{shop}/orders?order=42")
    expect(page.locator("#shop")).to_have_text("Bedankt voor uw bestelling 42")


def test_on_a_desktop_the_checkout_shows_its_qr_code_to_pay_on_a_phone(
        chromium: Browser, pay_link: str) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(pay_link)
        qr = page.locator(".pay-on-phone img.qr")
        expect(qr).to_be_visible()
        expect(page.locator("#phone-heading")).to_have_text("Betaal met uw telefoon")
        assert page.evaluate("(img) => img.naturalWidth > 0", qr.element_handle())
    finally:
        context.close()
