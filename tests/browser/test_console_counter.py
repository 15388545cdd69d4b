"""The console in a real browser (issue 16's journey, its eight steps): a merchant admin logs in
with TOTP on a tablet, uploads a logo and sees it in the live preview, creates an invitation in
counter mode, the customer scans the QR code and signs on a phone, the tablet turns to "Signed"
by itself, the admin finds the mandate by its IBAN, opens its PDF and replays a webhook. Each
step is one function below."""

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
LOGO_SIZE = (150, 50)


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


def logo_png() -> bytes:
    """A small logo in the shop's colours, 150×50 pixels."""
    image = Image.new("RGB", (LOGO_SIZE[0], LOGO_SIZE[1]), "#0b5394")
    image.paste(Image.new("RGB", (50, 50), "#f1c232"), (100, 0))
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def preview_logo_size(page: Page) -> tuple[int, int]:
    """The decoded size of the logo on the signing-page preview, once the frame has shown it."""
    logo = page.frame_locator("#preview-frame").locator("header img")
    expect(logo).to_be_visible()
    return tuple(logo.evaluate(  # type: ignore[return-value]
        "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"))


def upload_a_logo_and_see_it_in_the_preview(page: Page, base: str, merchant: Merchant) -> None:
    """Chosen, previewed before saving (inline, from the form), then saved and previewed again
    (from the portal's logo address); both times the preview frame shows the decoded image."""
    page.goto(f"{base}/console/merchants/{merchant.public_id}/settings/branding")
    preview = page.frame_locator("#preview-frame")
    expect(preview.locator("header .brand")).to_have_text(merchant.display_name)
    expect(preview.locator("header img")).to_have_count(0)  # no logo yet
    page.locator("#logo").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()}])
    page.locator("#preview-sign").click()  # the form's values, into the frame, not saved
    expect(preview.locator("header img")).to_have_attribute(  # re-encoded, inline
        "src", re.compile(r"^data:image/(png|jpeg|webp);base64,"))
    assert preview_logo_size(page) == LOGO_SIZE
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Saved.")
    expect(preview.locator("header img")).to_have_attribute(
        "src", re.compile(rf"/{merchant.public_id}/logo$"))
    assert preview_logo_size(page) == LOGO_SIZE
    expect(page.locator("img.console-logo")).to_be_visible()


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


def search_the_mandate_by_iban(page: Page, base: str, mandate_id: str) -> None:
    """The IBAN as a person types it (with spaces): the one result is the mandate just signed."""
    page.goto(f"{base}/console/")
    page.locator("#q").fill(IBAN)
    page.get_by_role("button", name="Search").click()
    results = page.locator("#results")
    expect(results.locator("h2")).to_have_text("1 mandate found")
    [row] = results.locator("tbody tr").all()
    expect(row.locator("td[data-status]")).to_have_attribute("data-status", "active")
    expect(row).to_contain_text("Sam de Vries")
    expect(row).to_contain_text("••43 00")  # the IBAN masked but for its last four
    link = row.get_by_role("link")
    expect(link).to_have_attribute("href", f"/console/mandates/{mandate_id}")
    link.click()
    page.wait_for_url(f"**/console/mandates/{mandate_id}")


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
    upload_a_logo_and_see_it_in_the_preview(tablet, live_server, merchant)
    tablet.screenshot(path=screenshots / "console-counter-0-logo.png", full_page=True)
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
    search_the_mandate_by_iban(tablet, live_server, mandate_id)
    open_the_pdf(tablet, app, live_server, mandate_id)
    replay_a_webhook(tablet)
