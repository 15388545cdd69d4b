"""Print a bench figure as ``name: value unit (ratio R× baseline)``.

Uses ``bench/report.py`` (the summary table of ``make bench``) when it is there, and prints
the same line format otherwise."""

from __future__ import annotations

try:
    from bench.report import figure
except ImportError:  # pragma: no cover - before bench/report.py exists
    def figure(name: str, value: float, unit: str, *, baseline: str | None = None,
               baseline_value: float | None = None, at_least: float | None = None,
               ratio_at_least: float | None = None, below: float | None = None) -> None:
        number = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}" if value < 1 \
            else f"{value:.1f}"
        line = f"{name}: {number} {unit}"
        if baseline_value:
            line += f" (ratio {value / baseline_value:.2f}× {baseline})"
        print(line, flush=True)

__all__ = ["figure"]
