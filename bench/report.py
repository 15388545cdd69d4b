"""One line per figure, ``name: value unit (ratio R× baseline)``, for people and for scripts.

Each bench calls :func:`figure` for what it measured. With ``BENCH_RESULTS`` set to a file, the
figures are also appended to it as JSON lines, which ``bench/run_all.py`` turns into one table.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass

LINE = re.compile(r"^(?P<name>[^:]+): (?P<value>[\d.]+) (?P<unit>\S+)"
                  r"(?: \(ratio (?P<ratio>[\d.]+)× (?P<baseline>.+)\))?$")


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    #: What the value is compared with, measured in the same run, and its value.
    baseline: str | None = None
    baseline_value: float | None = None
    #: The goal, e.g. ">= 0.6x" (a ratio) or "< 50 ms" (the value), and whether it was met.
    target: str | None = None
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline_value:
            return self.value / self.baseline_value
        return None

    def line(self) -> str:
        text = f"{self.name}: {_number(self.value)} {self.unit}"
        if self.ratio is not None:
            text += f" (ratio {self.ratio:.2f}× {self.baseline})"
        return text


def figure(name: str, value: float, unit: str, *, baseline: str | None = None,
           baseline_value: float | None = None, at_least: float | None = None,
           ratio_at_least: float | None = None, ratio_at_most: float | None = None,
           below: float | None = None) -> Figure:
    """Print one figure (and record it); the target is a minimum value, a minimum or maximum
    ratio to the baseline, or a maximum value."""
    result = Figure(name, value, unit, baseline, baseline_value)
    if ratio_at_least is not None and result.ratio is not None:
        result.target, result.met = f">= {ratio_at_least:g}×", result.ratio >= ratio_at_least
    elif ratio_at_most is not None and result.ratio is not None:
        result.target, result.met = f"<= {ratio_at_most:g}×", result.ratio <= ratio_at_most
    elif at_least is not None:
        result.target, result.met = f">= {_number(at_least)} {unit}", value >= at_least
    elif below is not None:
        result.target, result.met = f"< {_number(below)} {unit}", value < below
    print(result.line(), flush=True)
    if path := os.environ.get("BENCH_RESULTS"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(result)) + "\n")
    return result


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}" if value < 1 else f"{value:.1f}"


def table(figures: list[Figure]) -> str:
    """The summary: figure, value, baseline, ratio, target, met."""
    rows = [("figure", "value", "baseline", "ratio", "target", "met")]
    for f in figures:
        baseline = (f"{_number(f.baseline_value)} {f.unit} ({f.baseline})"
                    if f.baseline_value is not None else "")
        rows.append((f.name, f"{_number(f.value)} {f.unit}", baseline,
                     f"{f.ratio:.2f}×" if f.ratio is not None else "", f.target or "",
                     {True: "yes", False: "NO", None: ""}[f.met]))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
