"""Render a mandate to an unsealed A4 PDF/A-3b with WeasyPrint, fetching nothing from outside.

PDF/A-3b: fonts embedded, an sRGB output intent, XMP metadata naming the conformance, and
associated files allowed (the seal adds evidence.json as one). The PDF is also tagged, so
screen readers get its structure and language.

WeasyPrint only ever sees `AssetsOnlyFetcher`: files under signing/assets and data: images.
Everything else (http, https, file:///etc/passwd, ../ escapes) is refused and logged.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

import jinja2
import pydyf
from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .document import Branding, MandateDocument
from .texts import (
    format_signing_date,
    labels,
    mandate_text,
    mandate_title,
    resolve_locale,
    signing_method_label,
)

ASSETS_DIR = (Path(__file__).parent / "assets").resolve()
PDF_VARIANT = "pdf/a-3b"
TEMPLATE_NAME = "mandate.html.j2"
STYLESHEET_PATH = ASSETS_DIR / "mandate.css"
DATA_URL_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})
# A fixed table: mimetypes.guess_type would read /etc/mime.types, outside the assets.
ASSET_CONTENT_TYPES = {
    ".css": "text/css",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ASSETS_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class BlockedResource(ValueError):
    """WeasyPrint asked for a resource outside the allowed assets."""


class AssetsOnlyFetcher(URLFetcher):
    """URL fetcher serving only files inside `assets_dir` and data: images."""

    def __init__(self, assets_dir: Path = ASSETS_DIR) -> None:
        super().__init__(allowed_protocols=("data", "file"), fail_on_errors=False)
        self.assets_dir = assets_dir.resolve()

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        scheme = url.partition(":")[0].lower()
        if scheme == "data":
            return _data_url_response(url)
        if scheme == "file":
            return self._asset_response(url)
        raise BlockedResource(f"refusing to fetch {url!r}: not a signing asset")

    def _asset_response(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise BlockedResource(f"refusing to fetch {url!r}: remote file URL")
        try:
            path = Path(url2pathname(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError) as error:
            raise BlockedResource(f"refusing to fetch {url!r}: {error}") from None
        if not path.is_relative_to(self.assets_dir) or not path.is_file():
            raise BlockedResource(f"refusing to fetch {url!r}: outside signing assets")
        content_type = ASSET_CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def _data_url_response(url: str) -> URLFetcherResponse:
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise BlockedResource("malformed data: URL")
    mime, *params = header.split(";")
    mime = mime.strip().lower()
    if mime not in DATA_URL_IMAGE_TYPES:
        raise BlockedResource(f"refusing data: URL of type {mime or 'unknown'!r}")
    if "base64" in params:
        body = base64.b64decode(payload, validate=True)
    else:
        body = unquote_to_bytes(payload)
    return URLFetcherResponse("data:", body=body, headers={"Content-Type": mime})


def logo_data_url(branding: Branding) -> str | None:
    """The logo as a data: URL (Branding has already checked its type and magic bytes)."""
    if branding.logo is None:
        return None
    encoded = base64.b64encode(branding.logo).decode("ascii")
    return f"data:{branding.logo_mime};base64,{encoded}"


def group_iban(iban: str) -> str:
    """'NL91ABNA0417164300' → 'NL91 ABNA 0417 1643 00', the way banks print it."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def address_block(lines: tuple[str, ...], country: str | None) -> list[str]:
    """The address as printed: only the parts that are known, the country last."""
    return [line for line in (*lines, country or "") if line and line.strip()]


def render_mandate_html(doc: MandateDocument, branding: Branding) -> str:
    """The mandate as HTML; every value is autoescaped by Jinja."""
    locale = resolve_locale(doc.locale)
    text = mandate_text(doc.scheme, locale, doc.creditor.name)
    return _TEMPLATES.get_template(TEMPLATE_NAME).render(
        doc=doc,
        branding=branding,
        locale=locale,
        label=labels(locale),
        title=mandate_title(doc.scheme, doc.sequence, locale),
        paragraphs=text.split("\n\n"),
        iban=group_iban(doc.debtor.iban),
        creditor_address=address_block(doc.creditor.address_lines, doc.creditor.country),
        debtor_address=address_block(doc.debtor.address_lines, doc.debtor.country),
        signed_on=format_signing_date(doc.signed_at, locale),
        method=signing_method_label(doc.signing_method, locale),
        logo_url=logo_data_url(branding),
    )


def render_mandate_pdf(doc: MandateDocument, branding: Branding) -> bytes:
    """The unsealed mandate, as tagged PDF/A-3b."""
    html = HTML(
        string=render_mandate_html(doc, branding),
        base_url=ASSETS_DIR.as_uri() + "/",
        url_fetcher=AssetsOnlyFetcher(),
    )
    fonts, stylesheet = _weasyprint_resources()
    return html.write_pdf(stylesheets=[stylesheet], font_config=fonts,
                          pdf_variant=PDF_VARIANT, pdf_tags=True,
                          uncompressed_pdf=True, finisher=_compress_streams_only)


def _compress_streams_only(document: Document, pdf: pydyf.PDF) -> None:
    """Deflate the streams but keep objects out of object streams.

    pyHanko rescans an object stream's header for every object it takes from it, so the
    hundreds of structure elements of a tagged PDF made sealing and verifying twice as slow;
    plain objects cost a few kilobytes instead. The XMP metadata stays readable.
    """
    for item in pdf.objects:
        if (isinstance(item, pydyf.Stream) and "Filter" not in item.extra
                and item.extra.get("Type") != "/Metadata"):
            item.compress = True


_per_thread = threading.local()


def _weasyprint_resources() -> tuple[FontConfiguration, CSS]:
    """Parse the stylesheet once per thread; WeasyPrint's font state is not thread-safe."""
    if not hasattr(_per_thread, "resources"):
        fonts = FontConfiguration()
        stylesheet = CSS(
            filename=STYLESHEET_PATH, url_fetcher=AssetsOnlyFetcher(), font_config=fonts
        )
        _per_thread.resources = (fonts, stylesheet)
    return _per_thread.resources
