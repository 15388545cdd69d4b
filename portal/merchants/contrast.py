"""WCAG 2.x contrast of the brand colour: customer pages put white text on it (buttons, the
header) and the colour on white (secondary buttons, badges), so both need AA for normal text."""

from __future__ import annotations

import colorsys

#: WCAG 2.x level AA for normal-size text.
AA_NORMAL_TEXT = 4.5
#: The text colour customer pages put on the brand colour (``portal.css``).
TEXT_ON_BRAND = "#ffffff"


def _channels(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)


def relative_luminance(colour: str) -> float:
    """WCAG's relative luminance of a ``#rrggbb`` colour (sRGB, linearised)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), the lighter over the darker: 1 to 21."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def nearest_passing_shade(colour: str, *, against: str = TEXT_ON_BRAND,
                          minimum: float = AA_NORMAL_TEXT) -> str:
    """The lightest shade of ``colour`` (same hue and saturation, only darker) whose contrast
    with white text reaches ``minimum``; ``colour`` itself when it already does."""
    if contrast_ratio(colour, against) >= minimum:
        return colour
    hue, lightness, saturation = colorsys.rgb_to_hls(*_channels(colour))
    low, high = 0.0, lightness  # black always passes against white
    for _ in range(30):
        middle = (low + high) / 2
        if contrast_ratio(_hex(colorsys.hls_to_rgb(hue, middle, saturation)), against) >= minimum:
            low = middle
        else:
            high = middle
    shade = _hex(colorsys.hls_to_rgb(hue, low, saturation))
    while contrast_ratio(shade, against) < minimum:  # rounding to 8 bits may land just short
        low = max(0.0, low - 0.002)
        shade = _hex(colorsys.hls_to_rgb(hue, low, saturation))
    return shade
