"""WeasyPrint must not reach the network or files outside signing/assets, whatever the data."""

import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from signing import render_mandate_pdf
from signing.render import ASSETS_DIR, AssetsOnlyFetcher, BlockedResource

_open_events: list[str] | None = None


def _record_open(event: str, args: tuple) -> None:
    if _open_events is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _open_events.append(str(args[0] if not isinstance(args[0], bytes) else args[0].decode()))


sys.addaudithook(_record_open)  # audit hooks cannot be removed; it records only when armed


@pytest.fixture
def loopback_server():
    """A real HTTP server on 127.0.0.1 recording every path requested from it."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fetch_log(monkeypatch):
    """Every URL WeasyPrint asks for, with what the fetcher did about it."""
    log: list[tuple[str, str]] = []
    original = AssetsOnlyFetcher.fetch

    def recording_fetch(self, url, headers=None):
        try:
            response = original(self, url, headers)
        except BlockedResource:
            log.append((url, "refused"))
            raise
        log.append((url, "served"))
        return response

    monkeypatch.setattr(AssetsOnlyFetcher, "fetch", recording_fetch)
    return log


def _hostile_svg_logo(base_url: str) -> bytes:
    return f"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
width="40" height="40"><image href="{base_url}/svg-image" width="10" height="10"/>
<image xlink:href="file:///etc/passwd" width="10" height="10"/>
<style>@import url("{base_url}/svg-css");</style></svg>""".encode()


def test_injected_urls_are_neither_fetched_nor_opened_and_show_as_text(
    make_document, make_branding, pdf_text, loopback_server, fetch_log
):
    global _open_events
    base_url, requested = loopback_server
    debtor_html = f'<img src="{base_url}/x">'
    display_html = '<img src="file:///etc/passwd">'
    doc = make_document(
        locale="en",
        place=f'<link rel="stylesheet" href="{base_url}/css">',
        debtor=make_document().debtor.__class__(
            debtor_html, ("file:///etc/passwd",), "NL", "NL91ABNA0417164300", None, None
        ),
    )
    branding = make_branding(display_name=display_html, logo=_hostile_svg_logo(base_url))

    _open_events = []
    try:
        pdf = render_mandate_pdf(doc, branding)
    finally:
        opened, _open_events = _open_events, None

    assert requested == []
    assert "/etc/passwd" not in opened
    allowed_roots = _allowed_python_open_roots()
    assert [path for path in opened if not _is_under_any(path, allowed_roots)] == []
    for url, outcome in fetch_log:
        assert (
            outcome == "refused"
            or url.startswith("data:")
            or _is_under_any(urllib.request.url2pathname(url.removeprefix("file://")), [ASSETS_DIR])
        ), (url, outcome)
    assert {url for url, outcome in fetch_log if outcome == "refused"} >= {
        f"{base_url}/svg-image",
        "file:///etc/passwd",
    }
    text = pdf_text(pdf)
    assert debtor_html in text and display_html in text
    assert "root:x:0:0" not in text

    urllib.request.urlopen(f"{base_url}/canary").close()  # the detector itself works
    assert requested == ["/canary"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "https://example.com/logo.png",
        "ftp://example.com/x",
        "file:///etc/passwd",
        f"{ASSETS_DIR.as_uri()}/../render.py",
        f"{ASSETS_DIR.as_uri()}/missing.css",
        f"file://evil.example{ASSETS_DIR}/mandate.css",
        "data:text/html;base64,PHNjcmlwdD4=",
        "data:application/octet-stream,abc",
        "javascript:alert(1)",
    ],
)
def test_fetcher_refuses_everything_but_assets_and_data_images(url):
    with pytest.raises(BlockedResource):
        AssetsOnlyFetcher().fetch(url)


def test_fetcher_refuses_symlink_that_escapes_assets(tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (assets / "innocent.css").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(BlockedResource):
        AssetsOnlyFetcher(assets).fetch((assets / "innocent.css").as_uri())


def test_fetcher_serves_asset_files_and_data_images():
    css = AssetsOnlyFetcher().fetch((ASSETS_DIR / "mandate.css").as_uri())
    assert css.content_type == "text/css" and b"@page" in css.read()
    png = AssetsOnlyFetcher().fetch("data:image/png;base64,iVBORw0KGgo=")
    assert png.content_type == "image/png" and png.read() == b"\x89PNG\r\n\x1a\n"


def _allowed_python_open_roots() -> list[Path]:
    """Where Python-level opens during a render may legitimately go: our assets, the
    interpreter and its packages (lazy imports, WeasyPrint's own data), and font config."""
    roots = [ASSETS_DIR, Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
    roots += [
        Path(p)
        for p in (
            "/usr/share/fonts",
            "/usr/local/share/fonts",
            "/etc/fonts",
            "/var/cache/fontconfig",
            Path.home() / ".cache/fontconfig",
        )
    ]
    return [root.resolve() for root in roots]


def _is_under_any(path: str, roots: list[Path]) -> bool:
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(root) for root in roots)
