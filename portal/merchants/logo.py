"""A merchant's logo, accepted only as a raster image that Pillow decodes and writes anew: the
stored bytes are ours (no EXIF, no trailing data, no script in an SVG), in PNG or JPEG."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

#: Upload limit before decoding.
MAX_LOGO_BYTES = 512 * 1024
#: Larger images are refused, not scaled (a logo is shown at most 320 px wide).
MAX_LOGO_PIXELS = (2000, 2000)
#: Shown at most this large: the stored copy is scaled down to fit.
STORED_SIZE = (640, 640)
#: Formats accepted in; SVG (and anything else) is refused.
ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class LogoError(ValueError):
    """The upload is not a logo the portal keeps; the message says why, for the merchant."""


def reencode_logo(data: bytes) -> tuple[bytes, str]:
    """Decode ``data`` (PNG, JPEG or WebP within the limits) and return freshly encoded bytes
    and their type: PNG when the image has transparency, else JPEG. LogoError otherwise."""
    if not data:
        raise LogoError("the file is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(f"the file is larger than {MAX_LOGO_BYTES // 1024} KiB")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype")) or b"<svg" in head:
        raise LogoError("SVG images are not accepted; upload a PNG, JPEG or WebP file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            if opened.format not in ACCEPTED_FORMATS:
                raise LogoError("upload a PNG, JPEG or WebP file")
            width, height = opened.size
            if width > MAX_LOGO_PIXELS[0] or height > MAX_LOGO_PIXELS[1]:
                raise LogoError(f"the image is {width}×{height} pixels; at most "
                                f"{MAX_LOGO_PIXELS[0]}×{MAX_LOGO_PIXELS[1]}")
            opened.load()
            image = ImageOps.exif_transpose(opened)  # apply the orientation, then drop EXIF
    except LogoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LogoError(f"the image has too many pixels; at most "
                        f"{MAX_LOGO_PIXELS[0]}×{MAX_LOGO_PIXELS[1]}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise LogoError("the file is not a PNG, JPEG or WebP image Pillow can read") from exc
    image.thumbnail(STORED_SIZE)
    transparent = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
    out = io.BytesIO()
    if transparent:
        image.convert("RGBA").save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue(), "image/jpeg"
