"""Browser fixtures: Debian's Chromium through Playwright, the app on a real port, a phone."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from portal.mandates.links import make_invitation_token
from tests.factories import make_invitation
from tests.reconfigure import reconfigure

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
#: An Android phone about the size of most customers' screens.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"),
    "locale": "nl-NL",
}
#: Playwright's own 30 s default would let one hung page eat the whole folder's time budget.
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests prove the pages, not the database: SQLite only, to stay fast."""
    return request.param


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the browser tests; each test gets its own context.

    Package scope, not session: Playwright's sync API keeps an event loop marked running in this
    thread while it lives, which would break later tests that call ``asyncio.run``.
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium not installed; scripts/install-system-deps.sh installs Debian's "
                    "chromium as root")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_FLAGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app on a free local port; returns its base URL, also its PUBLIC_BASE_URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    reconfigure(app, PUBLIC_BASE_URL=base_url)  # redirects to and from the sandbox use it
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    yield base_url
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@dataclass(frozen=True)
class SigningLink:
    """A fresh invitation as the customer receives it."""

    url: str
    token: str
    mandate_id: str


@pytest.fixture
def signing_link(app: Flask, session: Session, live_server: str) -> SigningLink:
    """An invitation committed to the database, linked on the live server.

    ``?lang=en`` pins the language the assertions are written in, whatever the phone's locale."""
    invitation = make_invitation(session)
    session.commit()
    token = make_invitation_token(invitation.public_id, invitation.expires_at,
                                  app.config["SECRET_KEY"])
    return SigningLink(url=f"{live_server}/sign/{token}?lang=en", token=token,
                       mandate_id=invitation.mandate.public_id)


@pytest.fixture
def phone_page(chromium: Browser) -> Iterator[Page]:
    """A page in a fresh phone-sized context: no cookies or storage shared between tests."""
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots(artifacts: Path) -> Path:
    """Where screenshots go, for people to look at after a run (test-artifacts/browser/)."""
    folder = artifacts / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
