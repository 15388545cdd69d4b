"""Invoice amounts in integer cents: lines (quantity × unit price without VAT, VAT rounded per
line, half a cent up) and an amount that already includes VAT, split back into net and VAT so
the two always add up to it exactly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

#: A VAT percentage as written: 0 to 100 with at most two decimals ("21", "9", "5.5").
VAT_RATE = re.compile(r"(100|[0-9]{1,2})(\.[0-9]{1,2})?")  # whole value: always fullmatch


class AmountError(ValueError):
    """An amount or rate that cannot be invoiced; the message says why."""


def vat_rate(text: str) -> Decimal:
    """The rate as a Decimal percentage; AmountError unless 0–100 with ≤ 2 decimals."""
    if not isinstance(text, str) or not VAT_RATE.fullmatch(text) or Decimal(text) > 100:
        raise AmountError("A VAT rate is a percentage from 0 to 100, e.g. \"21\" or \"5.5\".")
    return Decimal(text)


def normalised_rate(text: str) -> str:
    """``"21.00"`` → ``"21"``, ``"5.50"`` → ``"5.5"``: one spelling per rate."""
    rate = vat_rate(text)
    return format(rate.normalize(), "f") if rate else "0"


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True)
class LineAmounts:
    description: str
    quantity: int
    unit_amount_cents: int
    vat_rate: str
    net_cents: int
    vat_cents: int
    gross_cents: int


def line(description: str, quantity: int, unit_amount_cents: int, rate: str) -> LineAmounts:
    """A line priced without VAT."""
    if quantity < 1 or unit_amount_cents < 0:
        raise AmountError("A line needs a quantity of at least 1 and a unit amount of 0 or more.")
    net = quantity * unit_amount_cents
    vat = _cents(Decimal(net) * vat_rate(rate) / 100)
    return LineAmounts(description, quantity, unit_amount_cents, normalised_rate(rate), net, vat,
                       net + vat)


def line_from_gross(description: str, gross_cents: int, rate: str | None) -> LineAmounts:
    """One line for an amount that includes VAT (a plan's price): net and VAT add up to it."""
    if gross_cents < 0:
        raise AmountError("An amount must not be negative.")
    if rate is None:
        return LineAmounts(description, 1, gross_cents, "0", gross_cents, 0, gross_cents)
    net = _cents(Decimal(gross_cents) * 100 / (100 + vat_rate(rate)))
    return LineAmounts(description, 1, net, normalised_rate(rate), net, gross_cents - net,
                       gross_cents)


@dataclass(frozen=True)
class Totals:
    net_cents: int
    vat_cents: int
    amount_cents: int
    #: VAT per rate, for the printed invoice: rate → (net, vat).
    by_rate: dict[str, tuple[int, int]]


def totals(lines: list[LineAmounts]) -> Totals:
    by_rate: dict[str, tuple[int, int]] = {}
    for item in lines:
        net, vat = by_rate.get(item.vat_rate, (0, 0))
        by_rate[item.vat_rate] = (net + item.net_cents, vat + item.vat_cents)
    net = sum(item.net_cents for item in lines)
    vat = sum(item.vat_cents for item in lines)
    return Totals(net, vat, net + vat, by_rate)


__all__ = ["AmountError", "LineAmounts", "Totals", "line", "line_from_gross",
           "normalised_rate", "totals", "vat_rate"]
