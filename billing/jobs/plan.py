"""What the planning workbook of a fiscal year shows (``billing.planning.workbook.PlanView``;
``reports.plan_xlsx`` writes it).

Months of the year up to the last rated month are actual (their volumes and charges as
rated); later months are forecast (``billing.jobs.forecast``). Each business line's sheet
lists every service it used in the year before or this year, or is forecast to use; the plan
tier of a service is the one subscribed in the first month of the year (else the tier last
charged, else the service's default), and the tariff version of a month is the one in force
on its first day.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from sqlalchemy.orm import Session

from billing.jobs.forecast import by_pair, forecast_volumes, pricing_context, tier_in
from billing.core.money import EXACT, ZERO
from billing.core.periods import add_months, first_day, fiscal_months
from billing.core.problems import ChargebackError, Problem
from billing.planning.budgets import plan_year
from billing.planning.plan_months import value_parts
from billing.planning.scenarios import PricedLine, VolumeForecast, price_volumes
from billing.store import audit
from billing.store import budgets as budget_store
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import locks
from billing.store import org as org_store
from billing.planning.workbook import PlanService, PlanSheet, PlanView, agreement_rows, rate_card
from billing.core.records import ChargeKind
from tariffs.model import PricingModel


PLAN_HORIZON = 24
"""A plan's year starts at most this many months after the last rated month."""


@dataclass(frozen=True, slots=True)
class PlanResult:
    view: PlanView  # the workbook's content (reports.plan_xlsx.plan_workbook writes it)
    fiscal_year: int
    months: tuple[str, ...]
    actual_through: str | None
    business_lines: int
    services: int  # business line × service rows
    total: Decimal  # the plan's cost as the engine prices the drivers written (the workbook's Plan total)
    currency: str
    methods: dict[str, int]
    problems: tuple[Problem, ...]


def build_plan(session: Session, fiscal_year: int, *, on_progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """The planning workbook of ``fiscal_year`` as bytes, with what it holds."""
    locks.lock_for_writing(session)  # it records its run in the audit trail
    start = audit.settings(session).fiscal_year_start_month
    months = tuple(fiscal_months(fiscal_year, start))
    history_months = tuple(add_months(months[0], i - 12) for i in range(12))
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    rated = charge_store.rated_months(session)
    if not rated:
        raise ChargebackError("nothing has been rated yet: a plan starts from rated months (`chargeback month run YYYY-MM`)")
    actual_months = [m for m in months if m <= rated[-1]]
    ahead = [m for m in months if m > rated[-1]]
    if months[0] > add_months(rated[-1], PLAN_HORIZON):
        raise ChargebackError(f"FY{fiscal_year} starts {months[0]}, more than {PLAN_HORIZON} months after the last rated month "
                              f"{rated[-1]}: too far ahead to forecast; nothing was written")
    volumes: list[VolumeForecast] = []
    methods: dict[str, int] = {}
    priced: list[PricedLine] = []
    problems: list[Problem] = []
    outlook = None
    if ahead:
        outlook = forecast_volumes(session, first_month=ahead[0], months=len(ahead), on_progress=on_progress)
        volumes, methods = list(outlook.volumes), outlook.methods

    quantity: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    amount: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    # a price by dimension's lines per value: (line, service, value, month)
    valued: dict[tuple[str, str, str, str], Decimal] = defaultdict(lambda: ZERO)
    valued_amount: dict[tuple[str, str, str, str], Decimal] = defaultdict(lambda: ZERO)
    values_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    last_tier: dict[tuple[str, str], str] = {}
    pairs: set[tuple[str, str]] = set()
    services = {s.code: s for s in catalogue.services}
    for figure in budget_store.rated_figures(session, history_months + tuple(actual_months)):
        key = (figure.business_line, figure.service, figure.month)
        amount[key] += figure.amount
        if figure.kind is ChargeKind.USAGE:
            used = figure.cost if figure.model is PricingModel.PASS_THROUGH else figure.quantity
            quantity[key] += used
            last_tier[key[:2]] = figure.tier
            if figure.dimension_value and figure.service in services and services[figure.service].dimension:
                value_key = (figure.business_line, figure.service, figure.dimension_value, figure.month)
                valued[value_key] += used
                valued_amount[value_key] += figure.amount
                values_of[key[:2]].add(figure.dimension_value)
        if figure.service in services and (figure.amount or figure.quantity):
            pairs.add(key[:2])
    rated_months = [m for m in (*history_months, *months) if m not in ahead]
    splits = {pair: _value_split(pair, sorted(values), rated_months, valued, quantity) for pair, values in values_of.items()}
    if outlook is not None:
        # the forecast's volumes split over values as the workbook's value rows are (the year and the year before)
        volumes = [dataclasses.replace(v, value_volumes=splits.get((v.business_line, v.service), ((), ZERO))[0],
                                       rated_volume=splits.get((v.business_line, v.service), ((), ZERO))[1])
                   for v in volumes]
        priced, problems = price_volumes(volumes, catalogue, **pricing_context(session, outlook))
    forecast = {(v.business_line, v.service, v.month): v for v in volumes}
    forecast_cost = {(p.business_line, p.service, p.month): p.amount for p in priced}
    pairs |= {(v.business_line, v.service) for v in volumes}
    subscriptions = by_pair(catalogue_store.load_subscriptions(session))
    budget = {(e.business_line, e.service, e.month): e.amount for e in budget_store.budget_entries(session, months=months)}
    names = {b.code: b.name for b in org_store.business_lines(session)}
    currency = audit.settings(session).currency

    sheets: list[PlanSheet] = []
    total = ZERO
    by_line: dict[str, list[str]] = defaultdict(list)
    for line, service in sorted(pairs):
        by_line[line].append(service)
    for line, codes in sorted(by_line.items()):
        rows = []
        for code in codes:
            service = services[code]
            tier = (forecast[(line, code, ahead[0])].tier if ahead and (line, code, ahead[0]) in forecast
                    else tier_in(months[0], (line, code), subscriptions, last_tier, catalogue))
            versions = [catalogue.tariff_at(code, first_day(m)) for m in months]
            drivers, fc_amounts = [], []
            for month in months:
                key = (line, code, month)
                if month in ahead:
                    predicted = forecast.get(key)
                    drivers.append(predicted.quantity if predicted else ZERO)
                    fc_amounts.append(forecast_cost.get(key, ZERO))
                else:
                    drivers.append(quantity[key])
                    fc_amounts.append(amount[key])
            parts = _value_rows(line, code, splits.get((line, code), ((), ZERO)), months, history_months, ahead,
                                drivers, valued, valued_amount)
            by_value = [tuple((value, volumes[m]) for value, volumes, _a, _h, _ha in parts) for m in range(12)]
            own = [drivers[m] - sum((q for _v, q in by_value[m]), ZERO) for m in range(12)]
            own_amounts = [fc_amounts[m] - sum((a[m] for _v, _q, a, _h, _ha in parts), ZERO) for m in range(12)]
            total += sum((m.amount for m in plan_year(catalogue, line, code, tier, months, versions, drivers, start, currency,
                                                      values=by_value)), ZERO)
            history_volumes = [quantity[(line, code, m)] - sum((h[i] for _v, _q, _a, h, _ha in parts), ZERO)
                               for i, m in enumerate(history_months)]
            history_amounts = [amount[(line, code, m)] - sum((ha[i] for _v, _q, _a, _h, ha in parts), ZERO)
                               for i, m in enumerate(history_months)]
            drivers, fc_amounts = own, own_amounts
            rows.append(PlanService(
                service=code, service_name=service.name, unit=service.unit, tier=tier,
                versions=tuple(v.version if v else None for v in versions), volumes=tuple(drivers),
                forecast_volumes=tuple(drivers), forecast_amounts=tuple(fc_amounts),
                budget_amounts=tuple(budget.get((line, code, m)) for m in months),
                history_volumes=tuple(history_volumes), history_amounts=tuple(history_amounts),
            ))
            rows += [PlanService(service=code, service_name=service.name, unit=service.unit, tier=tier,
                                 versions=tuple(v.version if v else None for v in versions), volumes=volumes,
                                 forecast_volumes=volumes, forecast_amounts=value_amounts,
                                 budget_amounts=(None,) * 12, history_volumes=history, history_amounts=history_amount,
                                 value=value)
                     for value, volumes, value_amounts, history, history_amount in parts]
        sheets.append(PlanSheet(business_line=line, name=names.get(line, line), services=tuple(rows)))

    if not sheets:
        raise ChargebackError(f"FY{fiscal_year} ({months[0]}..{months[-1]}) has nothing to plan: no service was used in it "
                              f"or the year before, and none is forecast (rated months: {rated[0]}..{rated[-1]}); "
                              f"nothing was written")
    planned = sorted({code for line in by_line.values() for code in line})
    rates, bands = rate_card(catalogue, planned, months, currency, start)
    view = PlanView(
        fiscal_year=fiscal_year, months=months, history_months=history_months,
        actual_through=actual_months[-1] if actual_months else None, currency=currency, rates=tuple(rates),
        bands=tuple(bands), tiers=tuple((c, tuple(t.code for t in services[c].tiers)) for c in planned),
        sheets=tuple(sheets), agreements=tuple(agreement_rows(catalogue, fiscal_year, set(pairs), start)),
    )
    audit.record(session, "plan.make", f"FY{fiscal_year}", f"{len(sheets)} business lines, {sum(len(s.services) for s in sheets)} services")
    return PlanResult(view=view, fiscal_year=fiscal_year, months=months, actual_through=view.actual_through,
                      business_lines=len(sheets), services=sum(len(s.services) for s in sheets), total=total,
                      currency=currency, methods=methods, problems=tuple(problems))


def _value_split(pair: tuple[str, str], values: list[str], rated: list[str],
                 valued: dict[tuple[str, str, str, str], Decimal], quantity: dict[tuple[str, str, str], Decimal],
                 ) -> tuple[tuple[tuple[str, Decimal], ...], Decimal]:
    """A business line's service's values with their volume over the ``rated`` months, and the
    service's whole volume over them: what a forecast month's volume is split by
    (``billing.planning.plan_months.value_parts``)."""
    line, code = pair
    with localcontext(EXACT):
        used = tuple((v, sum((valued[(line, code, v, m)] for m in rated), ZERO)) for v in values)
        whole = sum((quantity[(line, code, m)] for m in rated), ZERO)
    return used, whole


def _value_rows(line: str, code: str, split: tuple[tuple[tuple[str, Decimal], ...], Decimal], months: tuple[str, ...],
                history_months: tuple[str, ...], ahead: list[str], drivers: list[Decimal],
                valued: dict[tuple[str, str, str, str], Decimal], valued_amount: dict[tuple[str, str, str, str], Decimal],
                ) -> list[tuple[str, tuple[Decimal, ...], tuple[Decimal, ...], tuple[Decimal, ...], tuple[Decimal, ...]]]:
    """A price by dimension's rows of one business line's service: per value rated in the year or
    the year before (value, volumes, forecast amounts, history volumes, history amounts). A rated
    month's volume and amount are the value's own; a forecast month's volume is the value's
    part of the service's forecast by its share of the service's volume in the rated months
    (``split``; ``billing.planning.plan_months.value_parts``: cut to 0.0001, the service's row
    keeps the rest), its amount 0 (the service's row has the forecast cost, priced with the same
    split)."""
    used, whole = split
    if not used:
        return []
    parts = {m: dict(value_parts(drivers[m], used, whole)) for m, month in enumerate(months) if month in ahead}
    rows = []
    for value, _used in used:
        volumes, amounts = [], []
        for m, month in enumerate(months):
            if month in ahead:
                volumes.append(parts[m][value])
                amounts.append(ZERO)
            else:
                volumes.append(valued[(line, code, value, month)])
                amounts.append(valued_amount[(line, code, value, month)])
        rows.append((value, tuple(volumes), tuple(amounts),
                     tuple(valued[(line, code, value, m)] for m in history_months),
                     tuple(valued_amount[(line, code, value, m)] for m in history_months)))
    return rows
