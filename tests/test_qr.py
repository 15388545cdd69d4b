"""One QR rendering for the whole portal: what it encodes scans back, and no other module draws
its own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from portal.qr import PRINT_BOX, qr_image, qr_inline_svg

PORTAL = Path(__file__).resolve().parent.parent / "portal"
LINK = "https://portal.example/s/AbC123xyz"


def test_the_png_scans_back_to_the_link() -> None:
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_image(LINK, "png"))))
    assert code.text == LINK


def test_print_size_is_larger() -> None:
    screen = Image.open(io.BytesIO(qr_image(LINK, "png")))
    printed = Image.open(io.BytesIO(qr_image(LINK, "png", box_size=PRINT_BOX)))
    assert printed.width > 3 * screen.width


def test_svg_file_and_inline_svg() -> None:
    svg = qr_image(LINK, "svg")
    assert svg.startswith(b"<?xml") and b"<path" in svg
    inline = qr_inline_svg(LINK)
    assert inline.startswith("<svg") and "viewBox" in inline and "<?xml" not in inline


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        qr_image(LINK, "gif")


def test_no_other_module_renders_qr_codes() -> None:
    drawing = sorted(str(path.relative_to(PORTAL)) for path in PORTAL.rglob("*.py")
                     if "import qrcode" in path.read_text())
    assert drawing == ["qr.py"]
