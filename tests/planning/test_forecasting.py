"""Forecasting rules on plain series (billing.planning.forecasting), each with its arithmetic."""

import math

import pytest

from billing.planning.forecasting import Z_80, forecast_many, forecast_series, wape


def seasonal_series(months: int) -> list[float]:
    # 100 + 30·sin(2π m / 12) + 1.5 m, with a small fixed wobble so the fit has residuals:
    # the season peaks at m ≡ 3 (mod 12) and bottoms at m ≡ 9.
    return [100 + 30 * math.sin(2 * math.pi * m / 12) + 1.5 * m + (2 if m % 5 == 0 else -1) for m in range(months)]


def test_a_seasonal_series_is_forecast_with_its_season():
    forecast = forecast_series(seasonal_series(36), 12)
    assert forecast.method == "seasonal"
    values = list(forecast.values)
    # Months 36..47 continue the pattern: the peak is m = 39 (index 3), the trough m = 45 (index 9).
    assert values.index(max(values)) == 3
    assert values.index(min(values)) == 9
    # and the amplitude survives: peak (m = 39) - trough (m = 45) = 2 × 30 - 6 months of trend (9) = 51
    assert max(values) - min(values) == pytest.approx(51, abs=3)
    # the 80 % interval holds the point and widens with the horizon
    assert all(lo <= v <= hi for lo, v, hi in zip(forecast.low, forecast.values, forecast.high))
    assert forecast.high[11] - forecast.low[11] > forecast.high[0] - forecast.low[0]


def test_a_trend_without_two_years_is_forecast_with_a_damped_trend():
    history = [50 + 4 * m + (1 if m % 2 else -1) for m in range(14)]
    forecast = forecast_series(history, 6)
    assert forecast.method == "trend"
    assert forecast.values[0] > history[-1] - 5 and forecast.values[5] > forecast.values[0]


def test_leading_zero_months_are_not_history_and_all_zero_is_nothing():
    assert forecast_series([0, 0, 0], 2).method == "none"
    assert forecast_series([], 2).values == (0.0, 0.0)
    # 30 zero months, then 5 months of use: fewer than 6 non-zero months -> mean of the last 3
    forecast = forecast_series([0] * 30 + [10, 20, 30, 40, 50], 3)
    assert forecast.method == "recent-mean"
    assert forecast.values == (40.0, 40.0, 40.0)  # (30 + 40 + 50) / 3


def test_recent_mean_interval_is_from_the_last_six_months():
    forecast = forecast_series([10, 20, 30, 40, 50], 1)
    # sample standard deviation of 10..50 = 15.811...; 40 ± 1.2816 × 15.811
    spread = math.sqrt(sum((v - 30) ** 2 for v in (10, 20, 30, 40, 50)) / 4)
    assert forecast.low[0] == pytest.approx(40 - Z_80 * spread)
    assert forecast.high[0] == pytest.approx(40 + Z_80 * spread)


def test_an_intermittent_series_uses_crostons_average_rate():
    # 7 demands in 21 months (two thirds zeros), every third month.
    history = [0, 0, 5, 0, 0, 7, 0, 0, 6, 0, 0, 8, 0, 0, 5, 0, 0, 6, 0, 0, 7]
    forecast = forecast_series(history, 2)
    assert forecast.method == "intermittent"
    # Smoothed (alpha 0.1) size: 5 → 5.2 → 5.28 → 5.552 → 5.4968 → 5.54712 → 5.692408;
    # every gap is 3 months, so the smoothed gap stays 3: rate = 5.692408 / 3.
    assert forecast.values[0] == pytest.approx(5.692408 / 3)
    assert forecast.low[0] == 0.0


def test_forecasts_are_never_below_zero():
    falling = [1000 - 90 * m for m in range(11)]
    forecast = forecast_series(falling, 12)
    assert min(forecast.values) >= 0 and min(forecast.low) >= 0


def test_many_series_in_worker_processes_match_one_by_one():
    histories = [seasonal_series(30), [0, 0, 3, 4], [10, 12, 11, 13, 12, 14, 13, 15, 14, 16, 15, 17]] * 2
    seen = []
    pooled = forecast_many(histories, 4, workers=2, chunk=2, on_progress=lambda done, total: seen.append((done, total)))
    assert [f.method for f in pooled] == [forecast_series(h, 4).method for h in histories]
    assert pooled[0].values == pytest.approx(forecast_series(histories[0], 4).values)
    assert seen[-1] == (6, 6)


def test_wape_on_a_hand_example():
    # |100-110| + |200-180| + |0-10| + |50-50| = 10 + 20 + 10 + 0 = 40; actual total 350
    assert wape([100, 200, 0, 50], [110, 180, 10, 50]) == pytest.approx(40 / 350)
    assert wape([0, 0], [1, 2]) is None
