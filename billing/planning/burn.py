"""The fiscal year's budget burn for a statement: actual to date, the budget, and a forecast
to the year's end with its interval (pure).

Per month of the fiscal year: the budget, the actual charges (to the statement's month, on the
budget's basis: billing/jobs/budgets.py), and for the months after it the forecast of the
business line's monthly charges with its 80 % bounds (billing.planning.forecasting). A forecast
comes in as floats; each month's value is rounded to the currency's minor unit once, here
(billing.core.money.round_minor), so every figure shown is an exact Decimal and the year-end
figures are sums of what is shown.

The year-end interval adds up each month's bounds: it treats the months' errors as moving
together, so it is at least as wide as an 80 % interval of the year's total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO, D, round_minor
from billing.planning.forecasting import SeriesForecast

__all__ = ["BudgetBurn", "budget_burn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetBurn:
    """One fiscal year month by month: ``budget`` for every month; ``actual`` for the months
    to the statement's month; ``forecast``, ``low`` and ``high`` for the months after it."""

    fiscal_year: int
    months: tuple[str, ...]
    budget: tuple[Decimal, ...]
    actual: tuple[Decimal, ...]
    forecast: tuple[Decimal, ...]
    low: tuple[Decimal, ...]
    high: tuple[Decimal, ...]
    method: str  # the forecast's rule (billing.planning.forecasting), "" when no month is left

    def __post_init__(self) -> None:
        if len(self.budget) != len(self.months) or len(self.actual) + len(self.forecast) != len(self.months):
            raise ValueError("a budget burn needs a budget for every month, and an actual or a forecast")
        if not len(self.forecast) == len(self.low) == len(self.high):
            raise ValueError("a forecast month needs both its bounds")

    @property
    def year_budget(self) -> Decimal:
        return sum(self.budget, ZERO)

    @property
    def actual_to_date(self) -> Decimal:
        return sum(self.actual, ZERO)

    @property
    def budget_to_date(self) -> Decimal:
        return sum(self.budget[: len(self.actual)], ZERO)

    @property
    def year_end(self) -> tuple[Decimal, Decimal, Decimal]:
        """The year's expected total: actual to date plus the forecast, and its low and high."""
        done = self.actual_to_date
        return done + sum(self.forecast, ZERO), done + sum(self.low, ZERO), done + sum(self.high, ZERO)


def budget_burn(*, fiscal_year: int, months: Sequence[str], month: str, budget: Mapping[str, Decimal],
                actual: Mapping[str, Decimal], forecast: SeriesForecast | None, currency: str) -> BudgetBurn:
    """The burn of fiscal year ``fiscal_year`` (its twelve ``months``) seen from ``month``:
    ``budget`` and ``actual`` by month (a month missing is zero), ``forecast`` made for the
    months after ``month`` (at least as many as are left; None only when none is)."""
    done = [m for m in months if m <= month]
    left = len(months) - len(done)
    if left and (forecast is None or len(forecast.values) < left):
        raise ValueError(f"the forecast must cover the {left} months left of fiscal year {fiscal_year}")

    def rounded(values: Sequence[float]) -> tuple[Decimal, ...]:
        return tuple(round_minor(D(f"{max(v, 0.0):.6f}"), currency) for v in values[:left])

    point = rounded(forecast.values) if forecast and left else ()
    low = rounded(forecast.low) if forecast and left else ()
    high = rounded(forecast.high) if forecast and left else ()
    return BudgetBurn(
        fiscal_year=fiscal_year, months=tuple(months), budget=tuple(budget.get(m, ZERO) for m in months),
        actual=tuple(actual.get(m, ZERO) for m in done), forecast=point,
        low=tuple(min(a, b) for a, b in zip(low, point)), high=tuple(max(a, b) for a, b in zip(high, point)),
        method=forecast.method if forecast and left else "",
    )
