"""The budget burn of a statement: each forecast month rounded once, the year end the sum of
what is shown (billing.planning.burn) and a business line's cost over 13 months (billing.close.trends)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.close.trends import cost_history
from billing.core.money import quantum
from billing.core.periods import fiscal_months
from billing.planning.burn import budget_burn
from billing.planning.forecasting import SeriesForecast
from tests.reports import samples


def test_the_worked_burn():
    burn = samples.burn()
    assert burn.actual_to_date == Decimal("13670.00") and burn.budget_to_date == Decimal("15000.00")
    assert burn.forecast == (Decimal("4900.00"),) * 9
    assert burn.low == (Decimal("4400.01"),) * 9 and burn.high == (Decimal("5399.99"),) * 9
    assert burn.year_end == (Decimal("57770.00"), Decimal("53270.09"), Decimal("62269.91"))
    assert burn.year_budget == Decimal("60000.00") and burn.method == "trend"


def test_a_forecast_too_short_for_the_year_is_refused():
    short = SeriesForecast(method="trend", values=(1.0,), low=(1.0,), high=(1.0,))
    with pytest.raises(ValueError, match="9 months left"):
        budget_burn(fiscal_year=2026, months=fiscal_months(2026), month="2026-03", budget={}, actual={},
                    forecast=short, currency="USD")


def test_the_last_month_of_the_year_needs_no_forecast():
    burn = budget_burn(fiscal_year=2027, months=fiscal_months(2027, 4), month="2027-03", budget={"2026-04": Decimal("10.00")},
                       actual={"2026-04": Decimal("12.00")}, forecast=None, currency="USD")
    assert burn.forecast == () and burn.year_end == (Decimal("12.00"),) * 3 and burn.method == ""


floats = st.floats(min_value=-1e6, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(st.integers(min_value=1, max_value=12), st.lists(st.tuples(floats, floats, floats), min_size=12, max_size=12),
       st.sampled_from(["USD", "JPY", "BHD"]))
def test_the_year_end_is_the_sum_of_the_figures_shown(done, months, currency):
    year = fiscal_months(2026)
    forecast = SeriesForecast(method="trend", values=tuple(m[0] for m in months), low=tuple(m[1] for m in months),
                              high=tuple(m[2] for m in months))
    actual = {m: Decimal(7) for m in year[:done]}
    burn = budget_burn(fiscal_year=2026, months=year, month=year[done - 1], budget={}, actual=actual,
                       forecast=forecast, currency=currency)
    assert len(burn.forecast) == 12 - done
    for point, low, high in zip(burn.forecast, burn.low, burn.high):
        assert low <= point <= high and low >= 0
        assert all(v % quantum(currency) == 0 for v in (point, low, high))
    end, low, high = burn.year_end
    assert end == Decimal(7) * done + sum(burn.forecast, Decimal(0))
    assert low <= end <= high


def test_the_cost_history_spans_thirteen_months_largest_service_first():
    history = cost_history("2026-03", {("2026-03", "VM"): Decimal("10.00"), ("2025-03", "VM"): Decimal("1.00"),
                                       ("2025-02", "VM"): Decimal("99.00"), ("2026-01", "DESK"): Decimal("20.00")})
    assert history.months[0] == "2025-03" and history.months[-1] == "2026-03" and len(history.months) == 13
    assert [s.service for s in history.services] == ["DESK", "VM"]  # 20.00 against 11.00; February 2025 is not on it
    assert history.totals()[0] == Decimal("1.00") and history.totals()[-1] == Decimal("10.00")
