"""The console in a real browser (issue 16's journey): a merchant admin logs in with TOTP on a
tablet, creates an invitation in counter mode, the customer scans the QR code and signs on a
phone, the tablet turns to "Signed" by itself, and the admin opens the mandate's PDF and replays
a webhook.

The issue's full journey has two more steps whose pages come from other branches: uploading a
logo and seeing it in the preview (merchant settings), and searching the mandate by IBAN
(search). Each step is one function below; those two slot in at the marked places."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pyotp
import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.console.models import StaffRole
from portal.db import state
from portal.documents.service import PDF_JOB
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Invitation, Mandate, MandateStatus
from portal.merchants.models import Merchant
from portal.webhooks.service import configure_endpoint
from tests.browser.conftest import ACTION_TIMEOUT_MS, PHONE
from tests.browser.test_signing_journey import SUBMIT, fill_in_mandate, pay_in_sandbox
from tests.console.conftest import TOTP_SECRET, Staff, make_staff
from tests.factories import make_merchant

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

#: A tablet on the counter, landscape.
TABLET = {"viewport": {"width": 1180, "height": 820}, "device_scale_factor": 1,
          "has_touch": True, "locale": "en-GB"}
IBAN = "NL91 ABNA 0417 1643 00"


@pytest.fixture
def shop(session: Session) -> tuple[Merchant, Staff]:
    merchant = make_merchant(session, display_name="Fietsenwinkel De Spaak")
    configure_endpoint(session, merchant, "https://hooks.example/portal")
    admin = make_staff(session, "admin@spaak.example", name="Anna Admin",
                       role=StaffRole.MERCHANT_ADMIN, merchants=[merchant])
    session.commit()
    return merchant, admin


@pytest.fixture
def tablet(chromium: Browser):
    context = chromium.new_context(**TABLET)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


# -- The steps ----------------------------------------------------------------------------------

def log_in_with_totp(page: Page, app: Flask, base: str, staff: Staff) -> None:
    page.goto(f"{base}/console/login")
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill(staff.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/second-factor")
    code = pyotp.TOTP(TOTP_SECRET).at(get_adapters(app).clock())
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/console/(\?.*)?$"))


def create_counter_invitation(page: Page, base: str, merchant: Merchant) -> str:
    """From the dashboard to the counter screen; returns the link the QR code carries."""
    page.goto(f"{base}/console/merchants/{merchant.public_id}/")
    page.locator("#work-link a").click()
    page.locator("#counter-mode").click()
    form = page.locator("#counter-invitation")
    form.get_by_label("Customer's name").fill("Sam de Vries")
    form.get_by_label("Email").fill("sam@example.org")
    form.get_by_role("button", name="Show the QR code").click()
    page.wait_for_url(re.compile(r".*/counter/inv_[A-Za-z0-9]+$"))
    expect(page.locator("#counter-state")).to_have_text("Scan the code with your phone")
    qr = page.locator("#counter-qr")
    box = qr.bounding_box()
    assert box and box["width"] >= 400  # full screen: readable from across the counter
    [code] = zxingcpp.read_barcodes(Image.open(BytesIO(qr.screenshot())))
    assert code.text.startswith(f"{base}/s/")
    return code.text


def sign_on_the_phone(phone: Page, scanned: str) -> None:
    phone.goto(scanned)  # what the camera read: the short link, on to the signing page
    phone.wait_for_url("**/sign/*")
    phone.goto(phone.url + "?lang=en")  # pin the language the assertions are written in
    expect(phone.locator("#name")).to_have_value("Sam de Vries")
    fill_in_mandate(phone, IBAN)
    phone.get_by_role("button", name=SUBMIT).tap()
    pay_in_sandbox(phone, "Paid")
    phone.wait_for_url("**/done")
    expect(phone.locator("#mandate-status")).to_have_text("Active")


def see_the_counter_turn_to_signed(page: Page) -> None:
    """No reload: the screen's script polls the status and shows the result."""
    expect(page.locator("#counter-state")).to_have_text("Signed", timeout=15_000)
    expect(page.locator("#counter-state")).to_have_class(re.compile(r"\bcounter-signed\b"))
    expect(page.locator("#counter-qr")).to_be_hidden()
    size = page.locator("#counter-state").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 64  # large type


def open_the_pdf(page: Page, app: Flask, base: str, mandate_id: str) -> None:
    run_due_jobs(app, kinds=(PDF_JOB,))  # the worker seals the PDF
    page.goto(f"{base}/console/mandates/{mandate_id}")
    with page.expect_download() as download:
        page.locator("#pdf-link").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def replay_a_webhook(page: Page) -> None:
    row = page.locator("tr", has_text="mandate.active").filter(
        has=page.get_by_role("button", name="Replay"))
    row.first.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status").first).to_contain_text("queued for delivery again")


def test_counter_mode_from_login_to_signed_pdf_and_webhook(
        app: Flask, live_server: str, tablet: Page, chromium: Browser,
        shop: tuple[Merchant, Staff], screenshots: Path) -> None:
    merchant, admin = shop
    log_in_with_totp(tablet, app, live_server, admin)
    # (The settings branch inserts here: upload a logo and see it in the preview.)
    scanned = create_counter_invitation(tablet, live_server, merchant)
    tablet.screenshot(path=screenshots / "console-counter-1-qr.png")

    phone_context = chromium.new_context(**PHONE)
    phone_context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        sign_on_the_phone(phone_context.new_page(), scanned)
    finally:
        phone_context.close()

    see_the_counter_turn_to_signed(tablet)
    tablet.screenshot(path=screenshots / "console-counter-2-signed.png")
    with state(app).factory() as fresh:
        mandate = fresh.scalar(select(Mandate).join(Invitation).where(
            Mandate.merchant_id == merchant.id))
        assert mandate.status is MandateStatus.ACTIVE
        mandate_id = mandate.public_id
    # (The search branch inserts here: search the mandate by its IBAN, open it from the list.)
    open_the_pdf(tablet, app, live_server, mandate_id)
    replay_a_webhook(tablet)
