"""A merchant's page on another origin embeds the signing page through embed.js; a page on an
origin the merchant did not list is refused by the browser."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.mandates.links import make_invitation_token
from portal.mandates.models import Mandate, MandateStatus
from tests.factories import make_invitation, make_merchant

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sportclub – membership</title></head>
<body style="font-family:sans-serif;margin:0;padding:12px;background:#fafafa">
<h1 style="font-size:20px">Become a member</h1>
<div id="mandate"></div>
<script src="{portal}/embed/v1.js"></script>
<script>
  window.portalEvents = [];
  MandatePortal.mount("#mandate", {{url: {url}, onEvent: function (e) {{
    window.portalEvents.push(e.type + ":" + (e.detail || ""));
  }}}});
</script>
</body></html>"""


class HostPage:
    """A merchant's page on its own loopback address, embedding ``signing_url`` once set."""

    def __init__(self, address: str, portal: str) -> None:
        self.portal, self.signing_url = portal, ""

        @Request.application
        def app(request: Request) -> Response:
            return Response(HOST_PAGE.format(portal=self.portal, url=json.dumps(self.signing_url)),
                            mimetype="text/html")

        self.server = make_server(address, 0, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.origin = f"http://{address}:{self.server.server_port}"
        self.url = f"{self.origin}/membership"


@pytest.fixture
def host_page(live_server: str) -> Iterator[Callable[[str], HostPage]]:
    pages: list[HostPage] = []

    def serve(address: str) -> HostPage:
        pages.append(HostPage(address, live_server))
        return pages[-1]

    yield serve
    for page in pages:
        page.server.shutdown()


def _signing_url(app: Flask, session: Session, live_server: str, *origins: str) -> tuple:
    merchant = make_merchant(session, frame_origins=origins)
    invitation = make_invitation(session, merchant)
    session.commit()
    token = make_invitation_token(invitation.public_id, invitation.expires_at,
                                  app.config["SECRET_KEY"])
    return f"{live_server}/sign/{token}?lang=en", invitation.mandate_id


def _events(page: Page) -> list[str]:
    return page.evaluate("window.portalEvents")


def test_merchant_page_embeds_signs_and_hears_signed(
        app: Flask, session: Session, live_server: str, host_page, phone_page: Page,
        screenshots: Path) -> None:
    shop = host_page("127.0.0.2")
    shop.signing_url, mandate_id = _signing_url(app, session, live_server, shop.origin)
    url = shop.url
    page = phone_page

    page.goto(url)
    page.wait_for_function("window.portalEvents.includes('ready:')")
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_contain_text("Authorise direct debits")
    frame.locator("#iban").fill("NL91 ABNA 0417 1643 00")
    frame.locator("#consent").check()
    page.screenshot(path=screenshots / "embed-1-host-page.png")
    frame.get_by_role("button", name="Sign and verify with €0.01").click()

    page.wait_for_url("**/sandbox/checkout/**")  # the bank's page, top-level
    # The test bank speaks the customer's language (tests/sign/test_i18n.py proves which).
    paid = "Betaald" if page.locator("html").get_attribute("lang") == "nl" else "Paid"
    page.get_by_role("radio", name=paid, exact=True).check()
    page.locator("#sandbox-submit").click()

    page.wait_for_url(url)  # back on the merchant's page
    page.wait_for_function("window.portalEvents.some(e => e.startsWith('signed:'))")
    expect(frame.locator("#mandate-status")).to_have_text("Active")
    frame_height = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
    assert 200 <= frame_height < 900  # sized to its content, not stuck at its first height
    page.screenshot(path=screenshots / "embed-2-signed.png", full_page=True)
    reference = next(e for e in _events(page) if e.startswith("signed:")).split(":", 1)[1]
    session.expire_all()
    mandate = session.get(Mandate, mandate_id)
    assert mandate.status == MandateStatus.ACTIVE and reference == mandate.reference


def test_origin_not_listed_is_refused_by_the_browser(
        app: Flask, session: Session, live_server: str, host_page, phone_page: Page) -> None:
    elsewhere = host_page("127.0.0.3")
    elsewhere.signing_url, _ = _signing_url(app, session, live_server, "https://shop.example")
    page = phone_page
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        page.goto(elsewhere.url)
    frame = next(f for f in page.frames if f != page.main_frame)
    assert not frame.url.startswith(live_server)  # Chromium replaced it with its error page
    assert _events(page) == []
