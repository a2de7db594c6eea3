"""Forecast monthly series with exponential smoothing, with an 80 % interval.

Pure statistics: plain sequences of numbers in (oldest month first), plain records out; no
store, no clock, no money. Quantities here are floats because the models are; the planning
jobs turn the results into Decimals (``billing.core.money.round_to_step``) before pricing them.

How a series is forecast (docs/planning.md, "Forecasting"), first rule that applies:

1. Leading zero months are dropped: the business line had not started using the service.
2. Nothing left, or every month zero: ``none``, the forecast is zero.
3. Fewer than 6 non-zero months: ``recent-mean``, the mean of the last 3 months.
4. More than half of the months zero: ``intermittent``, Croston's method: simple exponential
   smoothing (alpha 0.1) of the non-zero amounts and of the gaps between them (the gap starts
   at the first gap seen); the forecast is the smoothed amount over the smoothed gap, every
   month.
5. 24 months or more: ``seasonal``, ETS(A,A,A) with a 12-month season (additive error, trend
   and season), statsmodels ``ETSModel``.
6. Otherwise: ``trend``, ETS(A,Ad,N) (additive error, damped additive trend, no season).

Both models start from initial states computed from the first years (:func:`_initial_states`,
a classical decomposition) and estimate their smoothing parameters (and damping) by maximum
likelihood, to a relative tolerance of about 2e-6; fixing the initial states and the
tolerance keeps a fit to a few milliseconds.

A model that fails to fit, or gives a non-finite forecast, falls back to ``recent-mean``.
Forecasts and bounds are never below zero.

The 80 % interval is point ± 1.2816 σ_h. For the ETS models σ_h² = σ² (1 + Σ_{j<h} c_j²) with
c_j = α + β φ_j + γ [j is a multiple of 12] and φ_j = φ + φ² + … + φ^j (j without damping):
the closed-form forecast variance of a linear ETS model (Hyndman et al., *Forecasting with
Exponential Smoothing*, 2008, table 6.1); σ² is the mean squared one-step residual. For the
fallbacks σ_h is the standard deviation of the last 6 months (``recent-mean``) or of the whole
series (``intermittent``), the same for every month ahead.

:func:`forecast_many` fits many series in a pool of worker processes; :func:`wape` measures a
backtest.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

__all__ = [
    "MIN_NONZERO",
    "SEASON",
    "Z_80",
    "SeriesForecast",
    "forecast_series",
    "forecast_many",
    "wape",
]

SEASON = 12
MIN_NONZERO = 6  # fewer non-zero months than this: the recent mean
RECENT = 3  # months the recent mean averages
CROSTON_ALPHA = 0.1
FIT_TOLERANCE = 1e10  # L-BFGS-B factr: stop at a relative likelihood change of 1e10 × machine epsilon
Z_80 = 1.2815515655446004  # the 90th percentile of the standard normal: a two-sided 80 % interval
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesForecast:
    """A forecast ``horizon`` months ahead: point values with their 80 % bounds, and the rule used."""

    method: str  # none | recent-mean | intermittent | seasonal | trend
    values: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    def __post_init__(self) -> None:
        if not len(self.values) == len(self.low) == len(self.high):
            raise ValueError("a forecast needs one bound of each kind per month")


def forecast_series(history: Sequence[float], horizon: int) -> SeriesForecast:
    """Forecast ``horizon`` months after ``history`` (monthly values, oldest first)."""
    if horizon < 0:
        raise ValueError("the horizon must not be negative")
    values = [float(v) for v in history]
    if any(not math.isfinite(v) for v in values):
        raise ValueError("a history value is not a finite number")
    start = next((i for i, v in enumerate(values) if v != 0), len(values))
    series = values[start:]
    nonzero = sum(1 for v in series if v != 0)
    if not series:
        return _flat("none", 0.0, 0.0, horizon)
    if nonzero < MIN_NONZERO:
        return _recent_mean(series, horizon)
    if len(series) - nonzero > len(series) / 2:
        return _croston(series, horizon)
    try:
        fitted = _ets(series, horizon, seasonal=len(series) >= 2 * SEASON)
    except (ValueError, ArithmeticError, IndexError, TypeError):  # numpy's LinAlgError is a ValueError
        fitted = None
    if fitted is None:
        return _recent_mean(series, horizon)
    return fitted


def _flat(method: str, level: float, spread: float, horizon: int) -> SeriesForecast:
    level = max(level, 0.0)
    return SeriesForecast(
        method=method,
        values=(level,) * horizon,
        low=(max(level - Z_80 * spread, 0.0),) * horizon,
        high=(max(level + Z_80 * spread, 0.0),) * horizon,
    )


def _std(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _recent_mean(series: Sequence[float], horizon: int) -> SeriesForecast:
    last = series[-RECENT:]
    return _flat("recent-mean", sum(last) / len(last), _std(series[-2 * RECENT:]), horizon)


def _croston(series: Sequence[float], horizon: int) -> SeriesForecast:
    """Croston's method: smooth the non-zero amounts and the gaps between them apart. The gap
    starts at the first one seen between two demands (the series starts at its first demand)."""
    size = gap = None
    since = 0
    for value in series:
        since += 1
        if value == 0:
            continue
        if size is None:
            size = value
        elif gap is None:
            size += CROSTON_ALPHA * (value - size)
            gap = float(since)
        else:
            size += CROSTON_ALPHA * (value - size)
            gap += CROSTON_ALPHA * (since - gap)
        since = 0
    rate = size / gap if size is not None and gap else (size or 0.0)
    return _flat("intermittent", rate, _std(series), horizon)


def _initial_states(endog, *, seasonal: bool):
    """Initial level, trend and season (chronological, first year) for the smoothing.

    Seasonal: the trend is the change between the first and last full years' means, the level
    the first year's mean taken back to before the first month, each month's seasonal effect
    its average distance from its year's trend line (centred to sum to zero). Non-seasonal: the
    least-squares line through the first (up to) 12 months.
    """
    import numpy as np

    if seasonal:
        years = len(endog) // SEASON
        blocks = endog[: years * SEASON].reshape(years, SEASON)
        means = blocks.mean(axis=1)
        trend = (means[-1] - means[0]) / (SEASON * (years - 1))
        offsets = np.arange(SEASON) - (SEASON - 1) / 2
        season = (blocks - means[:, None] - trend * offsets[None, :]).mean(axis=0)
        season -= season.mean()
        level = means[0] - trend * (SEASON + 1) / 2
        return float(level), float(trend), season
    head = endog[:SEASON]
    t = np.arange(1, len(head) + 1, dtype=float)
    trend, intercept = np.polyfit(t, head, 1)
    return float(intercept), float(trend), None


def _ets(series: Sequence[float], horizon: int, *, seasonal: bool) -> SeriesForecast | None:
    import warnings

    import numpy as np
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    endog = np.asarray(series, dtype=float)
    level, trend, season = _initial_states(endog, seasonal=seasonal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a bad fit is caught below
        if seasonal:
            model = ETSModel(endog, error="add", trend="add", seasonal="add", seasonal_periods=SEASON,
                             initialization_method="known", initial_level=level, initial_trend=trend,
                             initial_seasonal=season)
        else:
            model = ETSModel(endog, error="add", trend="add", damped_trend=True,
                             initialization_method="known", initial_level=level, initial_trend=trend)
        # The smoothing parameters by likelihood; L-BFGS-B stops once the likelihood improves by
        # less than about 2e-6 relatively (factr 1e10): half the time, no forecast that differs.
        params = model.fit(disp=False, return_params=True, factr=FIT_TOLERANCE)
        fitted, states = model.smooth(params, return_raw=True)  # one pass: no results object
    named = {name: float(value) for name, value in zip(model.param_names, np.asarray(params, dtype=float))}
    alpha = named.get("smoothing_level", 0.0)
    beta = named.get("smoothing_trend", 0.0)
    gamma = named.get("smoothing_seasonal", 0.0)
    phi = named.get("damping_trend", 1.0)
    residuals = endog - np.asarray(fitted, dtype=float)
    sigma2 = float(np.mean(residuals**2))
    # ŷ(n+h) = l(n) + φ_h b(n) + s(n+h-12): the last state row is the one after the last month.
    level, trend = float(states[-1, 0]), float(states[-1, 1])
    points, phi_h = [], 0.0
    for h in range(1, horizon + 1):
        phi_h += phi**h
        point = level + phi_h * trend
        if seasonal:
            point += float(states[-SEASON + (h - 1) % SEASON, 2])
        points.append(point)
    if not (all(math.isfinite(p) for p in points) and math.isfinite(sigma2)):
        return None
    low, high = [], []
    cumulative = 0.0  # Σ c_j² for j < h
    phi_j = 0.0
    for h in range(1, horizon + 1):
        sigma_h = math.sqrt(sigma2 * (1.0 + cumulative))
        point = points[h - 1]
        low.append(max(point - Z_80 * sigma_h, 0.0))
        high.append(max(point + Z_80 * sigma_h, 0.0))
        phi_j += phi**h
        c = alpha + beta * phi_j + (gamma if seasonal and h % SEASON == 0 else 0.0)
        cumulative += c * c
    return SeriesForecast(
        method="seasonal" if seasonal else "trend",
        values=tuple(max(p, 0.0) for p in points),
        low=tuple(low),
        high=tuple(high),
    )


# --------------------------------------------------------------------------- many series


def _forecast_chunk(job: tuple[list[Sequence[float]], int]) -> list[SeriesForecast]:
    histories, horizon = job
    return [forecast_series(h, horizon) for h in histories]


def forecast_many(
    histories: Sequence[Sequence[float]],
    horizon: int,
    *,
    workers: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
    chunk: int = 100,
) -> list[SeriesForecast]:
    """Forecast every history ``horizon`` months ahead, in order.

    More than ``chunk`` series are fitted in ``workers`` fresh processes (spawned, with one
    BLAS thread each: tiny linear algebra is slower with more). ``on_progress(done, total)``
    is called as chunks finish.
    """
    total = len(histories)
    jobs = [(list(histories[i:i + chunk]), horizon) for i in range(0, total, chunk)]
    results: list[SeriesForecast] = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results += _forecast_chunk(job)
            if on_progress:
                on_progress(len(results), total)
        return results
    import multiprocessing

    saved = {name: os.environ.get(name) for name in _BLAS_THREADS}
    os.environ.update({name: "1" for name in _BLAS_THREADS})  # read by the workers' numpy at import
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for part in pool.map(_forecast_chunk, jobs):
                results += part
                if on_progress:
                    on_progress(len(results), total)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return results


def wape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    """Weighted absolute percentage error: Σ|actual − forecast| / Σ|actual|, as a fraction.

    None when every actual value is zero (there is nothing to weigh the error by).
    """
    if len(actual) != len(forecast):
        raise ValueError("one forecast per actual value")
    scale = sum(abs(a) for a in actual)
    if scale == 0:
        return None
    return sum(abs(a - f) for a, f in zip(actual, forecast)) / scale
