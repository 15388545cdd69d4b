"""The rules behind the branding settings, without a database: WCAG contrast and the shade
suggested, the logo re-encoded by Pillow (SVG, bombs, wrong types refused; EXIF dropped), and
the origins that may frame a merchant's pages."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.merchants.contrast import contrast_ratio, nearest_passing_shade
from portal.merchants.logo import MAX_LOGO_BYTES, LogoError, reencode_logo
from portal.merchants.origins import frame_origin
from portal.merchants.service import normalise_origin
from tests.merchants.images import huge_png, image_bytes


@pytest.mark.parametrize(("first", "second", "ratio"), [
    ("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#767676", "#ffffff", 4.54),
    ("#777777", "#ffffff", 4.48)])
def test_contrast_ratio_is_wcags(first: str, second: str, ratio: float) -> None:
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("colour", ["#ffcc00", "#777777", "#ff0000", "#00ff00", "#e0e0ff"])
def test_the_suggested_shade_passes_and_is_the_lightest_that_does(colour: str) -> None:
    shade = nearest_passing_shade(colour)
    assert contrast_ratio(shade, "#ffffff") >= 4.5
    assert contrast_ratio(shade, "#ffffff") < 4.75  # no darker than it needs to be
    assert nearest_passing_shade("#1f4b99") == "#1f4b99"


def test_a_png_logo_is_reencoded_and_exif_dropped() -> None:
    original = image_bytes("JPEG", exif=True)
    assert b"SecretCam" in original
    data, mime = reencode_logo(original)
    assert mime == "image/jpeg" and data != original
    assert b"SecretCam" not in data and b"leaky-software" not in data
    assert Image.open(io.BytesIO(data)).getexif() == {}


def test_transparency_keeps_png_and_webp_comes_out_as_a_standard_type() -> None:
    data, mime = reencode_logo(image_bytes("PNG", mode="RGBA"))
    assert mime == "image/png" and data.startswith(b"\x89PNG")
    data, mime = reencode_logo(image_bytes("WEBP"))
    assert mime == "image/jpeg" and data.startswith(b"\xff\xd8\xff")


def test_a_large_logo_is_scaled_down_to_what_is_shown() -> None:
    data, _ = reencode_logo(image_bytes("PNG", size=(1800, 900)))
    assert Image.open(io.BytesIO(data)).size == (640, 320)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG"),
    (b"<svg><script>alert(1)</script></svg>", "SVG"),
    (b"GIF89a" + b"\x00" * 40, "PNG, JPEG or WebP"),
    (b"%PDF-1.7 not an image", "PNG, JPEG or WebP"),
    (image_bytes("GIF"), "PNG, JPEG or WebP"),
    (image_bytes("BMP"), "PNG, JPEG or WebP"),
    (image_bytes("PNG", size=(2400, 10)), "2400×10 pixels"),
    (huge_png(), "pixels"),
    (image_bytes("JPEG", size=(200, 200))[:300], "PNG, JPEG or WebP"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_LOGO_BYTES + 1), "larger than"),
    (huge_png((5000, 100)), "5000×100 pixels"),
], ids=["empty", "svg-xml", "svg", "gif-header", "pdf", "gif", "bmp", "too-wide", "bomb",
        "truncated", "too-large", "wide-header"])
def test_what_is_not_a_logo_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(LogoError, match=message):
        reencode_logo(data)


@pytest.mark.parametrize(("given", "stored"), [
    ("https://Shop.Example", "https://shop.example"),
    ("https://shop.example/", "https://shop.example"),
    ("https://shop.example:443", "https://shop.example"),
    ("https://shop.example:8443", "https://shop.example:8443"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
    ("http://localhost:8000", "http://localhost:8000"),
    ("http://127.0.0.2:8000", "http://127.0.0.2:8000"),
    ("http://[::1]:8000", "http://[::1]:8000"),
    ("  https://shop.example  ", "https://shop.example"),
])
def test_origins_are_stored_as_browsers_send_them(given: str, stored: str) -> None:
    assert frame_origin(given) == stored
    assert normalise_origin(given) == stored  # the embedding reads requests the same way


@pytest.mark.parametrize(("given", "reason"), [
    ("https://*.shop.example", "wildcards"),
    ("*", "wildcards"),
    ("https://shop.example/embed", "no path"),
    ("https://shop.example?x=1", "no path"),
    ("https://shop.example#top", "no path"),
    ("http://shop.example", "https://"),
    ("ftp://shop.example", "an origin like"),
    ("javascript:alert(1)", "an origin like"),
    ("shop.example", "an origin like"),
    ("https://user:pw@shop.example", "user name"),
    ("https://shop.example:99999", "invalid port"),
    ("https://shop.example;script-src 'unsafe-inline'", "invalid host"),
    ("https://shop.example frame-ancestors", "invalid host"),
    ("https://-shop.example", "invalid host"),
    ("https://[::1", "an origin like"),
    ("https://", "an origin like"),
])
def test_what_the_embedding_cannot_match_is_refused(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        frame_origin(given)
