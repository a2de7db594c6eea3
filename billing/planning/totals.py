"""A forecast added up: per business line, or per service, tier and method of one business
line, and over all of them (pure; ``chargeback forecast`` prints it).

The interval's totals add the monthly bounds (a sum of 80 % intervals, not an interval of
the sum); every figure is a sum of priced lines, so the rows add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO
from billing.core.problems import ChargebackError
from billing.planning.scenarios import PricedLine, ScenarioTotals

__all__ = ["ForecastTotal", "forecast_totals", "scenario_totals"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastTotal:
    """The forecast of one group of lines: ``key`` is (business line,) or (service, tier, method)."""

    key: tuple[str, ...]
    quantity: Decimal
    amount: Decimal
    amount_low: Decimal
    amount_high: Decimal


def forecast_totals(lines: Iterable[PricedLine], *, business_line: str | None = None) -> tuple[ForecastTotal, ...]:
    """Per business line (``business_line`` None), else per service, tier and method of that
    business line, in key order; refused when that business line has no forecast."""
    sums: dict[tuple[str, ...], list[Decimal]] = {}
    for line in lines:
        if business_line not in (None, line.business_line):
            continue
        key = (line.service, line.tier, line.method) if business_line else (line.business_line,)
        row = sums.setdefault(key, [ZERO] * 4)
        for i, value in enumerate((line.quantity, line.amount, line.amount_low, line.amount_high)):
            row[i] += value
    if business_line and not sums:
        raise ChargebackError(f"no forecast for business line {business_line!r}")
    return tuple(ForecastTotal(key=k, quantity=v[0], amount=v[1], amount_low=v[2], amount_high=v[3])
                 for k, v in sorted(sums.items()))


def scenario_totals(rows: Iterable[ScenarioTotals], scenarios: int) -> tuple[Decimal, tuple[Decimal, ...]]:
    """Over every business line: the baseline's total and each scenario's, in order."""
    rows = list(rows)
    return (sum((r.baseline for r in rows), ZERO),
            tuple(sum((r.amounts[i] for r in rows), ZERO) for i in range(scenarios)))
