"""QR codes, rendered one way everywhere: the signing and checkout links' images, the console's
counter screen and the TOTP enrolment. Error correction M (a smudged screen still scans), the
standard quiet zone of four modules, the smallest version that holds the data."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg

#: Module size in pixels: for screens, and ``?size=print`` for print.
SCREEN_BOX = 8
PRINT_BOX = 30
#: The formats a QR route serves, with their media types.
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _code(data: str, box_size: int) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size,
                         border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_image(data: str, fmt: str, *, box_size: int = SCREEN_BOX) -> bytes:
    """The QR code of ``data`` as an SVG or PNG file (``fmt`` one of :data:`MEDIA_TYPES`)."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown QR format {fmt!r}")
    code = _code(data, box_size)
    buffer = io.BytesIO()
    if fmt == "svg":
        code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    else:
        code.make_image().save(buffer)
    return buffer.getvalue()


def qr_inline_svg(data: str) -> str:
    """The QR code as an ``<svg>`` element to put inside HTML (no XML declaration), sized by the
    page's CSS through its ``viewBox``."""
    svg = qr_image(data, "svg").decode()
    return svg[svg.index("<svg"):]
