"""The demo printed by `make run` walks through the whole journey in a browser, offline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, PHONE
from tests.portal_process import running_portal

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_demo_link_signs_a_mandate_and_offers_the_sealed_pdf(
        chromium: Browser, tmp_path: Path, screenshots: Path) -> None:
    with running_portal(tmp_path / "instance") as portal:
        context = chromium.new_context(**PHONE)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        blocked: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(portal.base_url)
                else blocked.append(r.url))

        page.goto(portal.demo_link + "?lang=en")
        expect(page.locator("h1")).to_contain_text("Demo Sportclub")
        page.locator("#iban").fill("NL91 ABNA 0417 1643 00")
        page.locator("#consent").check()
        # The demo offers both ways to sign; the one-cent payment is preselected.
        expect(page.get_by_role("radio", name="Pay one cent (iDEAL) from the account")).to_be_checked()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/sandbox/checkout/**")
        page.get_by_role("radio", name="Paid", exact=True).check()
        page.locator("#sandbox-submit").click()
        page.wait_for_url("**/done")
        expect(page.locator("#mandate-status")).to_have_text("Active")
        # The in-process job runner seals the PDF; the page notices without a manual refresh.
        expect(page.locator("#pdf-link")).to_be_visible(timeout=30_000)
        page.screenshot(path=screenshots / "demo-done.png", full_page=True)
        download = page.request.get(urljoin(page.url, page.locator("#pdf-link").get_attribute("href")))
        assert download.headers["content-type"] == "application/pdf"
        assert download.body().startswith(b"%PDF")
        assert blocked == []  # nothing left the machine
        assert list((portal.instance / "outbox").glob("*.eml"))  # the customer's copy
        context.close()
