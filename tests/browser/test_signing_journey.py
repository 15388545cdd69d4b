"""The customer's signing journey in a real browser on a phone: form → sandbox iDEAL → done."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.db import state
from portal.mandates.models import Mandate, MandateStatus
from tests.browser.conftest import SigningLink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

IBAN = "NL91 ABNA 0417 1643 00"
IBAN_WRONG_CHECK_DIGITS = "NL92 ABNA 0417 1643 00"
SUBMIT = re.compile(r"Sign and verify")
DANGER = "rgb(179, 38, 30)"  # --danger in portal.css


def fill_in_mandate(page: Page, iban: str = IBAN) -> None:
    """Type the IBAN key by key, as a person would, and give consent."""
    page.locator("#iban").press_sequentially(iban)
    page.locator("#consent").check()


def pay_in_sandbox(page: Page, outcome: str, bank: str = "ABN AMRO") -> None:
    page.wait_for_url("**/sandbox/checkout/tr_sbx*")
    page.get_by_role("radio", name=bank, exact=True).check()
    page.get_by_role("radio", name=outcome, exact=True).check()
    page.locator("#sandbox-submit").tap()


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways: scrollWidth {widths[0]} > {widths[1]}"


def mandate_status(app: Flask, mandate_id: str) -> MandateStatus:
    """Read the mandate from a fresh session: what the server committed, not what we cached."""
    with state(app).factory() as fresh:
        return fresh.scalar(select(Mandate.status).where(Mandate.public_id == mandate_id))


def test_customer_signs_a_mandate_on_a_phone_through_the_sandbox(
        phone_page: Page, signing_link: SigningLink, app: Flask, screenshots: Path) -> None:
    page = phone_page
    page.goto(signing_link.url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Authorise direct debits")
    expect(page.locator("#name")).to_have_value("Sam de Vries")
    expect(page.locator("#email")).to_have_value("sam@example.org")
    reference = page.locator("#mandate-reference").inner_text().strip()
    assert reference

    page.locator("#iban").press_sequentially(IBAN)
    expect(page.locator("#iban-bank")).to_have_text(re.compile("ABNA|ABN AMRO"))
    expect(page.locator("#iban-bank")).not_to_have_css("color", DANGER)
    page.locator("#consent").check()
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "journey-1-form.png", full_page=True)
    page.get_by_role("button", name=SUBMIT).tap()

    page.wait_for_url("**/sandbox/checkout/tr_sbx*")
    expect(page.locator("#payer_iban")).to_have_value("")  # the typed IBAN is never shown
    expect(page.locator("#payer-iban-hint")).to_contain_text("NL91 •••• •••• ••43 00")
    page.get_by_role("radio", name="ABN AMRO", exact=True).check()
    page.get_by_role("radio", name="Paid", exact=True).check()
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "journey-2-sandbox.png", full_page=True)
    page.locator("#sandbox-submit").tap()

    page.wait_for_url(f"**/sign/{signing_link.token}/done")
    expect(page.locator("#mandate-status")).to_have_text("Active")
    expect(page.locator("#mandate-reference")).to_have_text(reference)
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "journey-3-done.png", full_page=True)

    assert mandate_status(app, signing_link.mandate_id) == MandateStatus.ACTIVE


def test_failed_payment_brings_the_customer_back_to_try_again(
        phone_page: Page, signing_link: SigningLink, app: Flask, screenshots: Path) -> None:
    page = phone_page
    page.goto(signing_link.url)
    fill_in_mandate(page)
    page.get_by_role("button", name=SUBMIT).tap()
    pay_in_sandbox(page, "Failed")

    page.wait_for_url(re.compile(rf"/sign/{re.escape(signing_link.token)}$"))
    expect(page.locator("#retry-notice")).to_contain_text("failed")
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "retry-1-notice.png", full_page=True)
    assert mandate_status(app, signing_link.mandate_id) == MandateStatus.AWAITING_VERIFICATION

    expect(page.locator("#iban")).to_have_value("NL91 ABNA 0417 1643 00")  # kept for the retry
    page.locator("#consent").check()
    page.get_by_role("button", name=SUBMIT).tap()
    pay_in_sandbox(page, "Paid")
    page.wait_for_url(f"**/sign/{signing_link.token}/done")
    expect(page.locator("#mandate-status")).to_have_text("Active")
    assert mandate_status(app, signing_link.mandate_id) == MandateStatus.ACTIVE


def test_the_form_can_be_completed_with_the_keyboard_alone(
        phone_page: Page, signing_link: SigningLink) -> None:
    page = phone_page
    page.goto(signing_link.url)
    for _ in range(12):  # past the language links in the header
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "name":
            break
    else:
        pytest.fail("tabbing from the top of the page never reaches the name field")

    for field_id in ("email", "iban"):
        page.keyboard.press("Tab")
        expect(page.locator(f"#{field_id}")).to_be_focused()
    page.keyboard.type(IBAN)
    page.keyboard.press("Tab")
    consent = page.locator("#consent")
    expect(consent).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none", (
        "the focused consent checkbox shows no focus ring")
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=SUBMIT)).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/sandbox/checkout/tr_sbx*")


def test_iban_with_wrong_check_digits_is_explained_at_the_field(
        phone_page: Page, signing_link: SigningLink, screenshots: Path) -> None:
    page = phone_page
    page.goto(signing_link.url)
    message = "This IBAN contains a typing error: the check digits do not match."
    fill_in_mandate(page, IBAN_WRONG_CHECK_DIGITS)
    expect(page.locator("#iban-bank")).to_have_text(message)  # live, before submitting
    expect(page.locator("#iban-bank")).to_have_css("color", DANGER)  # an error, not a hint
    page.get_by_role("button", name=SUBMIT).tap()

    iban = page.locator("#iban")
    expect(page.locator("#iban-error")).to_have_text(message)
    expect(iban).to_have_attribute("aria-invalid", "true")
    expect(iban).to_have_attribute("aria-describedby", re.compile(r"(^|\s)iban-error(\s|$)"))
    expect(iban).to_have_accessible_description(re.compile(re.escape(message)))
    expect(iban).to_have_value(IBAN_WRONG_CHECK_DIGITS)
    expect(page.locator("#name")).not_to_have_attribute("aria-invalid", "true")
    page.screenshot(path=screenshots / "errors-iban-check-digits.png", full_page=True)


def test_no_page_scrolls_sideways_on_a_390px_phone(
        phone_page: Page, signing_link: SigningLink, screenshots: Path) -> None:
    page = phone_page
    page.goto(signing_link.url)
    assert page.evaluate("window.innerWidth") == 390
    assert_no_horizontal_scroll(page)

    page.locator("#name").fill("")
    page.locator("#email").fill("not-an-address")
    page.get_by_role("button", name=SUBMIT).tap()  # every field in error at once
    expect(page.locator("#consent-error")).to_be_visible()
    expect(page.locator("#name-error")).to_be_visible()
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "errors-all-fields.png", full_page=True)
