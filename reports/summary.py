"""The first page of a statement, laid out (pure): what a head reads before any detail.

From a statement's records and rows (reports.views): the cost by service over thirteen
months as the picture shows it (:func:`cost_trend`: the largest services by name, the rest
added up as "Other services"), the fiscal year's budget burn added up month by month
(:func:`burn_view`), service levels in one sentence with only the missed targets
(:func:`service_level_summary`) and the one tier change worth most (:func:`best_tier_change`).
Figures are exact Decimals, only added up here; the renderers format them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.close.trends import CostHistory
from billing.core.money import ZERO
from billing.core.periods import first_day
from billing.planning.burn import BudgetBurn
from tariffs.model import Service

__all__ = [
    "TREND_SERVICES", "TrendSeries", "CostTrend", "cost_trend", "BurnPoint", "BurnView", "burn_view",
    "ServiceLevelSummary", "service_level_summary", "TierChange", "best_tier_change", "short_month",
]

TREND_SERVICES = 5
"""Services the cost picture names; the others are one band, "Other services"."""
OTHER = "Other services"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_month(month: str, *, with_year: bool = False) -> str:
    """``2026-03`` → ``Mar`` (``Mar 2026`` with ``with_year``)."""
    day = first_day(month)
    return f"{_MONTHS[day.month - 1]} {day.year}" if with_year else _MONTHS[day.month - 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendSeries:
    name: str
    amounts: tuple[Decimal, ...]  # one per month of the trend


@dataclass(frozen=True, slots=True, kw_only=True)
class CostTrend:
    """Cost by service per month, oldest first: ``labels`` for the axis (``Nov``),
    ``month_labels`` with the year for the table and the caption (``Nov 2025``)."""

    months: tuple[str, ...]
    labels: tuple[str, ...]
    month_labels: tuple[str, ...]
    series: tuple[TrendSeries, ...]  # largest first, "Other services" last
    totals: tuple[Decimal, ...]


def cost_trend(history: CostHistory | None, services: Mapping[str, Service], *,
               named: int = TREND_SERVICES) -> CostTrend | None:
    """The picture's figures; None without a history or when nothing was charged in it."""
    if history is None or not any(any(s.amounts) for s in history.services):
        return None
    shown = [s for s in history.services if any(s.amounts)]
    kept, rest = (shown, []) if len(shown) <= named + 1 else (shown[:named], shown[named:])
    series = [TrendSeries(name=services[s.service].name if s.service in services else s.service, amounts=s.amounts)
              for s in kept]
    if rest:
        series.append(TrendSeries(name=OTHER, amounts=tuple(sum((s.amounts[i] for s in rest), ZERO)
                                                          for i in range(len(history.months)))))
    months = history.months
    return CostTrend(
        months=months,
        labels=tuple(short_month(m) for m in months),
        month_labels=tuple(short_month(m, with_year=True) for m in months),
        series=tuple(series), totals=history.totals(),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BurnPoint:
    """A fiscal month, each figure added up from the year's start (None where it has none)."""

    month: str
    label: str
    budget: Decimal
    actual: Decimal | None  # to the statement's month
    forecast: Decimal | None  # from the statement's month (where it equals the actual) to the year's end
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BurnView:
    fiscal_year: int
    points: tuple[BurnPoint, ...]
    year_budget: Decimal
    budget_to_date: Decimal
    actual_to_date: Decimal
    year_end: Decimal  # actual to date + the forecast of the months left
    year_end_low: Decimal
    year_end_high: Decimal
    months_left: int
    method: str

    @property
    def year_end_variance(self) -> Decimal:
        """Expected over (+) or under (−) the year's budget."""
        return self.year_end - self.year_budget

    @property
    def variance_to_date(self) -> Decimal:
        return self.actual_to_date - self.budget_to_date


def burn_view(burn: BudgetBurn | None) -> BurnView | None:
    if burn is None:
        return None
    points = []
    budget = actual = ZERO
    done = len(burn.actual)
    low = high = forecast = ZERO
    for i, month in enumerate(burn.months):
        budget += burn.budget[i]
        shown_actual = shown_forecast = shown_low = shown_high = None
        if i < done:
            actual += burn.actual[i]
            shown_actual = actual
            if i == done - 1 and done < len(burn.months):  # the forecast starts where the actual ends
                forecast = low = high = actual
                shown_forecast = shown_low = shown_high = actual
        else:
            forecast += burn.forecast[i - done]
            low += burn.low[i - done]
            high += burn.high[i - done]
            shown_forecast, shown_low, shown_high = forecast, low, high
        points.append(BurnPoint(month=month, label=short_month(month), budget=budget, actual=shown_actual,
                                forecast=shown_forecast, low=shown_low, high=shown_high))
    year_end, year_low, year_high = burn.year_end
    return BurnView(fiscal_year=burn.fiscal_year, points=tuple(points), year_budget=burn.year_budget,
                    budget_to_date=burn.budget_to_date, actual_to_date=burn.actual_to_date, year_end=year_end,
                    year_end_low=year_low, year_end_high=year_high, months_left=len(burn.forecast), method=burn.method)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceLevelSummary:
    """``met`` of ``targets`` targets met; the rows of the missed ones with their credits."""

    targets: int
    met: int
    missed: tuple  # of reports.views.SlaRow
    credits: Decimal  # the credits of the missed targets, added up (negative: money back)


def service_level_summary(rows: Sequence) -> ServiceLevelSummary:
    """From the statement's service-level rows (reports.views.SlaRow); a row without a target
    counts in neither."""
    with_target = [r for r in rows if r.met is not None]
    missed = tuple(r for r in with_target if not r.met)
    return ServiceLevelSummary(targets=len(with_target), met=len(with_target) - len(missed), missed=missed,
                               credits=sum((r.credit for r in missed if r.credit is not None), ZERO))


@dataclass(frozen=True, slots=True, kw_only=True)
class TierChange:
    """The tier that would have cost the most less this month, against the tier you have."""

    service_name: str
    current_tier: str
    tier_name: str
    amount: Decimal
    difference: Decimal  # negative: a saving
    difference_pct: Decimal | None
    service_levels: str
    advice: str | None


def best_tier_change(options: Sequence) -> TierChange | None:
    """The saving worth most among the statement's tier options (reports.views.TierOption):
    the other tier whose difference is the most negative; None when no other tier costs less."""
    current = {o.service_name: o.tier_name for o in options if o.is_current}
    savings = [o for o in options if not o.is_current and o.difference < 0 and o.service_name in current]
    if not savings:
        return None
    best = min(savings, key=lambda o: (o.difference, o.service_name, o.tier_name))
    return TierChange(service_name=best.service_name, current_tier=current[best.service_name], tier_name=best.tier_name,
                      amount=best.amount, difference=best.difference, difference_pct=best.difference_pct,
                      service_levels=best.service_levels, advice=best.advice)
