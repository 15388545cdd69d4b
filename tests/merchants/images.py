"""Small images made on the spot for the logo tests."""

from __future__ import annotations

import io
import zlib

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 20), mode: str = "RGB",
                exif: bool = False) -> bytes:
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    out = io.BytesIO()
    options: dict = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x0131] = "leaky-software"  # Software
        options["exif"] = data.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def huge_png(size: tuple[int, int] = (30_000, 30_000)) -> bytes:
    """A PNG whose header claims ``size`` (a decompression bomb): only the header is real."""
    small = Image.new("1", (1, 1))
    out = io.BytesIO()
    small.save(out, format="PNG")
    data = bytearray(out.getvalue())
    data[16:20] = size[0].to_bytes(4, "big")
    data[20:24] = size[1].to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # IHDR's CRC, made right
    return bytes(data)
