"""Forecasts, backtests and scenario comparisons from the rated history in the store.

History is the rated charges of each month (the latest run): per business line and service,
the month's quantity summed over tiers and segments, or its cost for a pass-through price.
Months between the first and the last rated month that were never rated count as zero. Each
series is forecast by ``billing.planning.forecasting``; the volumes are priced under the tariff version
in force in each forecast month, at the tier in force on most of its days (the rule rating
charges each day by: billing.organisation.subscriptions.tier_of_month; else the tier it was last
charged at, else the service's default tier), rounded once per business line,
service and month (``billing.planning.scenarios.price_volumes``). A service priced by dimension
has its volume split over the dimension values by each value's share of the business line's
volume of the service in the history's months (``billing.planning.plan_months.value_parts``),
each part priced at its value's price and the rest at the default price.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path

from sqlalchemy.orm import Session

from billing.planning.forecasting import SeriesForecast, forecast_many, wape
from billing.core.money import D, EXACT, ZERO, round_to_step
from billing.core.periods import add_months, first_day, fiscal_months, fiscal_year, last_day, month_days, month_range, parse_month
from billing.core.problems import Ask, Asked, ChargebackError, Problem, ProblemCode, ProblemsError, errors
from billing.core.records import ChargeKind, Subscription
from billing.planning.plan_months import YearSoFar
from billing.planning.scenarios import (
    PricedLine,
    ScenarioTotals,
    VolumeForecast,
    apply_scenario,
    check_scenario,
    compare_totals,
    load_scenarios,
    price_volumes,
    with_draft_tariffs,
)
from billing.store import audit
from billing.store import budgets as budget_store
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import org as org_store
from billing.organisation.subscriptions import tier_of_month
from tariffs.model import Catalogue, PricingModel

#: Forecast volumes are kept to hundredths of a unit (or of the currency, for a cost).
VOLUME_STEP = Decimal("0.01")
HISTORY_MONTHS = 36
WORKERS = 2

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class History:
    """Monthly series per (business line, service), aligned to ``months``."""

    months: tuple[str, ...]
    series: dict[tuple[str, str], list[Decimal]]
    last_tier: dict[tuple[str, str], str]
    #: per (business line, service): each dimension value's volume over ``months`` (the charges
    #: of a price by dimension naming the value), for splitting a forecast volume over values
    valued: dict[tuple[str, str], dict[str, Decimal]] = field(default_factory=dict)


def read_history(session: Session, *, before: str | None = None, limit: int = HISTORY_MONTHS) -> History:
    """The rated history before ``before`` (all of it when None), at most ``limit`` months."""
    rated = [m for m in charge_store.rated_months(session) if before is None or m < before]
    if not rated:
        return History(months=(), series={}, last_tier={})
    months = tuple(month_range(rated[0], rated[-1])[-limit:])
    position = {m: i for i, m in enumerate(months)}
    series: dict[tuple[str, str], list[Decimal]] = {}
    last_tier: dict[tuple[str, str], str] = {}
    valued: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for figure in budget_store.rated_figures(session, months):
        if figure.kind is not ChargeKind.USAGE:
            continue
        key = (figure.business_line, figure.service)
        values = series.setdefault(key, [ZERO] * len(months))
        used = figure.cost if figure.model is PricingModel.PASS_THROUGH else figure.quantity
        values[position[figure.month]] += used
        last_tier[key] = figure.tier
        if figure.dimension_value:
            valued[key][figure.dimension_value] = valued[key].get(figure.dimension_value, ZERO) + used
    return History(months=months, series=series, last_tier=last_tier, valued=dict(valued))


def as_volume(value: float) -> Decimal:
    """A forecast value as a volume in hundredths (text first: Decimals are never made from floats)."""
    return round_to_step(D(f"{max(value, 0.0):.6f}"), VOLUME_STEP) + Decimal("0.00")


def by_pair(subscriptions: list[Subscription]) -> dict[tuple[str, str], list[Subscription]]:
    """Subscriptions per (business line, service), for looking tiers up without a scan."""
    index: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for sub in subscriptions:
        index[(sub.business_line, sub.service)].append(sub)
    return index


def tier_in(month: str, key: tuple[str, str], subscriptions: dict[tuple[str, str], list[Subscription]],
            last_tier: dict[tuple[str, str], str], catalogue: Catalogue) -> str:
    """The tier a business line takes a service at in ``month``: the tier in force on most of its
    days (billing.organisation.subscriptions.tier_of_month, by the rule rating charges each day
    by), else the tier it was last charged at, else the service's default tier."""
    subscribed = tier_of_month(subscriptions.get(key, ()), key[0], key[1], month_days(month))
    if subscribed is not None:
        return subscribed
    if key in last_tier:
        return last_tier[key]
    service = catalogue.service(key[1])
    return service.default_tier if service else ""


def value_history(history: History, key: tuple[str, str]) -> tuple[tuple[tuple[str, Decimal], ...], Decimal]:
    """A business line's service's dimension values with their volume over the history's months
    (in value order), and the service's whole volume over them: what a forecast volume is split
    over values by (``VolumeForecast.values``). Nothing for a service rated with no value."""
    valued = history.valued.get(key)
    if not valued:
        return (), ZERO
    with localcontext(EXACT):
        whole = sum(history.series.get(key, ()), ZERO)
    return tuple(sorted(valued.items())), whole


@dataclass(frozen=True, slots=True)
class Outlook:
    """Forecast volumes for ``months``, and what they were made from."""

    months: tuple[str, ...]
    history: History
    volumes: tuple[VolumeForecast, ...]
    methods: dict[str, int]
    catalogue: Catalogue
    subscriptions: list[Subscription]


def forecast_volumes(session: Session, *, first_month: str | None = None, months: int = 12,
                     on_progress: Progress | None = None, workers: int = WORKERS) -> Outlook:
    """Forecast every business line's volume of every service it uses (or is subscribed to)
    for ``months`` months from ``first_month`` (default: the month after the last rated one)."""
    if months < 1:
        raise ChargebackError("forecast at least one month", asks_for=(Asked(Ask.MONTHS, "1"),))
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    first_month = parse_month(first_month) if first_month else None
    history = read_history(session, before=first_month)
    if not history.months:
        raise ChargebackError("nothing has been rated yet" + (f" before {first_month}" if first_month else "")
                              + ": forecasts start from rated months (`chargeback month run YYYY-MM`)")
    start = add_months(history.months[-1], 1)
    first_month = first_month or start
    targets = tuple(add_months(first_month, i) for i in range(months))
    ahead = month_range(start, targets[-1])
    subscriptions = catalogue_store.load_subscriptions(session)
    services = {s.code for s in catalogue.services}
    recent = max(0, len(history.months) - 12)
    keys = {k for k, v in history.series.items() if k[1] in services and any(v[recent:])}
    for sub in subscriptions:
        if sub.service in services and any(sub.in_force(first_day(m)) or sub.in_force(last_day(m)) for m in targets):
            keys.add((sub.business_line, sub.service))
    keys = sorted(keys)
    zeros = [ZERO] * len(history.months)
    histories = [[float(v) for v in history.series.get(k, zeros)] for k in keys]
    forecasts = forecast_many(histories, len(ahead), workers=workers, on_progress=on_progress)
    offset = len(ahead) - len(targets)
    indexed = by_pair(subscriptions)
    dimensions = catalogue.dimensions()
    volumes = []
    for key, forecast in zip(keys, forecasts):
        split = value_history(history, key) if key[1] in dimensions else ((), ZERO)
        for i, month in enumerate(targets):
            volumes.append(VolumeForecast(
                business_line=key[0], service=key[1], month=month, tier=tier_in(month, key, indexed, history.last_tier, catalogue),
                quantity=as_volume(forecast.values[offset + i]), low=as_volume(forecast.low[offset + i]),
                high=as_volume(forecast.high[offset + i]), method=forecast.method,
                value_volumes=split[0], rated_volume=split[1]))
    methods = dict(Counter(f.method for f in forecasts))
    return Outlook(months=targets, history=history, volumes=tuple(volumes), methods=methods, catalogue=catalogue,
                   subscriptions=subscriptions)


def pricing_context(session: Session, outlook: Outlook) -> dict[str, Any]:
    """What pricing forecast volumes needs besides them (``price_volumes``' keywords): the fiscal
    year's start, which months each business line holds each service (a subscription in force on
    some day of the month; a business line with no subscription to the service holds it in every
    month it is forecast), its subscriptions (a commitment's share of the year) and, for each
    fiscal year the forecast reaches into, the charges of its months rated before the forecast."""
    start = audit.settings(session).fiscal_year_start_month
    subscriptions = by_pair(outlook.subscriptions)

    def held(line: str, service: str, month: str) -> bool:
        subs = subscriptions.get((line, service))
        if not subs:
            return True
        first, last = first_day(month), last_day(month)
        return any(s.effective_from <= last and (s.effective_to is None or s.effective_to >= first) for s in subs)

    years = sorted({fiscal_year(m, start) for m in outlook.months})
    earlier = [m for year in years for m in fiscal_months(year, start) if m < outlook.months[0]]
    amounts: dict[tuple[str, str, int], Decimal] = defaultdict(lambda: ZERO)
    quantities: dict[tuple[str, str, int], dict[str, Decimal]] = defaultdict(dict)
    for figure in budget_store.rated_figures(session, earlier):
        key = (figure.business_line, figure.service, fiscal_year(figure.month, start))
        amounts[key] += figure.amount
        if figure.kind is ChargeKind.USAGE:
            quantities[key][figure.tier] = quantities[key].get(figure.tier, ZERO) + figure.quantity
    so_far: dict[tuple[str, str], dict[int, YearSoFar]] = defaultdict(dict)
    for key, amount in amounts.items():
        so_far[key[:2]][key[2]] = YearSoFar(amount=amount, quantities=quantities.get(key, {}))
    return {"fiscal_year_start": start, "held": held, "subscriptions": subscriptions, "year_so_far": so_far}


@dataclass(frozen=True, slots=True)
class ForecastResult:
    months: tuple[str, ...]
    history_months: tuple[str, ...]
    lines: tuple[PricedLine, ...]
    methods: dict[str, int]
    problems: tuple[Problem, ...]
    currency: str


def run_forecast(session: Session, *, first_month: str | None = None, months: int = 12,
                 on_progress: Progress | None = None) -> ForecastResult:
    """Forecast and price ``months`` months per business line × service (nothing is written)."""
    outlook = forecast_volumes(session, first_month=first_month, months=months, on_progress=on_progress)
    lines, problems = price_volumes(outlook.volumes, outlook.catalogue, **pricing_context(session, outlook))
    return ForecastResult(months=outlook.months, history_months=outlook.history.months, lines=tuple(lines),
                          methods=outlook.methods, problems=tuple(problems), currency=audit.settings(session).currency)


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True, slots=True)
class BacktestRow:
    """How far the forecast of a service's volumes was off on the held-out months: WAPE, the
    sum of absolute errors over the sum of actual volumes (None when nothing was used)."""

    service: str
    series: int
    error: float | None
    methods: dict[str, int]


@dataclass(frozen=True, slots=True)
class BacktestResult:
    fitted_months: tuple[str, ...]
    held_out: tuple[str, ...]
    rows: tuple[BacktestRow, ...]
    overall: float | None  # WAPE over every service's volumes (each service's unit weighs as it comes)


def run_backtest(session: Session, *, holdout: int = 6, on_progress: Progress | None = None,
                 workers: int = WORKERS) -> BacktestResult:
    """Forecast the last ``holdout`` rated months from the months before them and measure the
    error per service."""
    if holdout < 1:
        raise ChargebackError("hold out at least one month")
    history = read_history(session)
    if len(history.months) <= holdout:
        raise ChargebackError(f"a backtest of {holdout} months needs more than {holdout} rated months; "
                              f"{len(history.months)} are rated")
    keys = sorted(k for k, v in history.series.items() if any(v))
    fitted = [[float(v) for v in history.series[k][:-holdout]] for k in keys]
    forecasts: list[SeriesForecast] = forecast_many(fitted, holdout, workers=workers, on_progress=on_progress)
    actual: dict[str, list[float]] = defaultdict(list)
    predicted: dict[str, list[float]] = defaultdict(list)
    methods: dict[str, Counter] = defaultdict(Counter)
    for key, forecast in zip(keys, forecasts):
        actual[key[1]] += [float(v) for v in history.series[key][-holdout:]]
        predicted[key[1]] += list(forecast.values)
        methods[key[1]][forecast.method] += 1
    rows = tuple(
        BacktestRow(service=s, series=sum(methods[s].values()), error=wape(actual[s], predicted[s]), methods=dict(methods[s]))
        for s in sorted(actual)
    )
    every_actual = [v for s in sorted(actual) for v in actual[s]]
    every_predicted = [v for s in sorted(actual) for v in predicted[s]]
    return BacktestResult(fitted_months=history.months[:-holdout], held_out=history.months[-holdout:], rows=rows,
                          overall=wape(every_actual, every_predicted) if every_actual else None)


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True, slots=True)
class ScenarioComparison:
    names: tuple[str, ...]
    months: tuple[str, ...]
    rows: tuple[ScenarioTotals, ...]
    currency: str
    problems: tuple[Problem, ...]


def compare_scenarios(session: Session, path: Path, *, first_month: str | None = None, months: int = 12,
                      on_progress: Progress | None = None) -> ScenarioComparison:
    """The forecast under each scenario of ``path`` next to the baseline, per business line."""
    from tariffs.load import load_catalogue
    from tariffs.validate import validate_catalogue

    scenarios, problems = load_scenarios(path)
    if errors(problems) or not scenarios:
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s); nothing was compared")
    outlook = forecast_volumes(session, first_month=first_month, months=months, on_progress=on_progress)
    lines = set(org_store.business_line_ids(session))
    catalogues = []
    for scenario in scenarios:
        catalogue = outlook.catalogue
        if scenario.tariffs is not None:
            if not scenario.tariffs.is_dir():
                problems.append(Problem(code=ProblemCode.FILE_UNREADABLE, message=f"no tariff directory {scenario.tariffs}",
                                        source=scenario.tariffs_source, hint="give the draft's folder, relative to this file"))
            else:
                draft, found = load_catalogue(scenario.tariffs)  # may hold tariff versions only
                catalogue = with_draft_tariffs(catalogue, draft)
                if not errors(found):  # the draft's versions against the services they price
                    found += validate_catalogue(Catalogue(units=catalogue.units, services=catalogue.services,
                                                          tariffs=draft.tariffs))
                problems += found
        problems += check_scenario(scenario, catalogue=catalogue, business_lines=lines)
        catalogues.append(catalogue)
    if errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s); nothing was compared")
    context = pricing_context(session, outlook)
    baseline, found = price_volumes(outlook.volumes, outlook.catalogue, **context)
    problems += found
    defaults = {s.code: s.default_tier for c in catalogues for s in c.services}
    priced = []
    for scenario, catalogue in zip(scenarios, catalogues):
        changed = apply_scenario(outlook.volumes, scenario, months=outlook.months, default_tiers=defaults)
        lines_s, found = price_volumes(changed, catalogue, **context)
        problems += found
        priced.append(lines_s)
    return ScenarioComparison(names=tuple(s.name for s in scenarios), months=outlook.months,
                              rows=tuple(compare_totals(baseline, priced)), currency=audit.settings(session).currency,
                              problems=tuple(problems))

