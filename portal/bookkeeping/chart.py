"""Collected versus failed per week as an SVG drawn on the server: two bars a week, a scale
in euros, a legend; no script, no inline style (the console's Content-Security-Policy)."""

from __future__ import annotations

from markupsafe import Markup, escape

from portal.bookkeeping.export import euros
from portal.bookkeeping.service import Week

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 30, 40
COLLECTED, FAILED = "#2e7d32", "#c62828"


def weekly_chart(weeks: list[Week]) -> Markup:
    """The chart as an inline ``<svg>`` (safe to put in a page as it is)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([w.collected_cents for w in weeks] + [w.failed_cents for w in weeks] + [100])
    slot = plot_w / max(len(weeks), 1)
    bar = slot * 0.35
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
              f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
              f'aria-labelledby="chart-title">'),
             '<title id="chart-title">Collected versus failed per week (EUR)</title>']
    for step in range(5):
        value = top * step // 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{euros(value)}</text>')
    for index, week in enumerate(weeks):
        x = LEFT + slot * index + slot * 0.15
        for offset, cents, colour, label in ((0, week.collected_cents, COLLECTED, "collected"),
                                             (bar, week.failed_cents, FAILED, "failed")):
            h = plot_h * cents / top
            parts.append(
                f'<rect class="{label}" x="{x + offset:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f'<title>{escape(week.starts_on.isoformat())} {label}: '
                f'{euros(cents)}</title></rect>')
        parts.append(f'<text x="{x + bar:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'font-size="11">{week.starts_on:%d %b}</text>')
    parts.append(f'<rect x="{LEFT}" y="8" width="10" height="10" fill="{COLLECTED}"/>'
                 f'<text x="{LEFT + 14}" y="17" font-size="11">collected</text>'
                 f'<rect x="{LEFT + 90}" y="8" width="10" height="10" fill="{FAILED}"/>'
                 f'<text x="{LEFT + 104}" y="17" font-size="11">failed (returned, refunded, '
                 f'rejected)</text></svg>')
    return Markup("".join(parts))
