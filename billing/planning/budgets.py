"""Budgets: per business line, service and month of a fiscal year; budget against actual.

Pure: rows (``billing.files.fields.Row``) or a planning workbook's drivers in, budget entries and
problems out; nothing is read or written here. The formats are in docs/planning.md:

- a budget table (CSV or .xlsx) has ``business_line, service, month, amount`` and optionally
  ``quantity`` and ``tier``; amounts carry at most the currency's minor units;
- a planning workbook (``chargeback plan``) gives drivers (volume per month, growth, tier):
  :func:`budget_from_plan` prices them with the engine's own pricing
  (``billing.planning.plan_months.price_months``), never trusting any figure the workbook computed.

:func:`compare_budget` sets a year-to-date budget against actual charges per service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO, round_minor
from billing.core.periods import fiscal_year
from billing.core.problems import Problem, ProblemCode, SourceRef
from billing.planning.plan_months import PlannedMonth, PricedMonth, price_months
from billing.core.limits import AMOUNT, CODE, QUANTITY, RATIO
from billing.files.fields import Row, decimal_field, month_field, text_field
from tariffs.model import Catalogue, TariffVersion

__all__ = [
    "COLUMNS",
    "OPTIONAL",
    "BudgetEntry",
    "BudgetComparison",
    "PlanMonth",
    "PlanDriver",
    "PlanWorkbook",
    "PlanReading",
    "parse_budget_rows",
    "budget_from_plan",
    "plan_year",
    "compare_budget",
]

COLUMNS = ("business_line", "service", "month", "amount")
OPTIONAL = ("quantity", "tier")


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetEntry:
    """A budgeted amount for a business line's service in a month (``quantity`` and ``tier``
    when the budget was planned from volumes)."""

    fiscal_year: int
    month: str
    business_line: str
    service: str
    amount: Decimal
    quantity: Decimal | None = None
    tier: str | None = None
    source: SourceRef | None = None

    def location(self) -> str:
        """Where it came from within its file: ``12`` (a row) or ``FIN!F20`` (a workbook cell)."""
        if self.source is None:
            return ""
        return self.source.location or (str(self.source.row) if self.source.row is not None else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetComparison:
    """Budget and actual for a service, year to date. ``variance`` is actual − budget (above
    zero: over budget); ``variance_pct`` is variance / budget × 100, exact, None when the
    budget is zero."""

    service: str
    budget_ytd: Decimal
    actual_ytd: Decimal
    variance: Decimal
    variance_pct: Decimal | None

    def __post_init__(self) -> None:
        if self.variance != self.actual_ytd - self.budget_ytd:
            raise ValueError(f"{self.service}: variance {self.variance} is not actual - budget")


def compare_budget(budget: Iterable[BudgetEntry], actual: Mapping[str, Decimal]) -> list[BudgetComparison]:
    """One comparison per service that has a budget or an actual amount, by service code.

    ``budget`` holds the entries of the months to compare (year to date); ``actual`` the
    actual charges (rounded lines summed) per service over the same months.
    """
    budgeted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in budget:
        budgeted[entry.service] += entry.amount
    rows = []
    for service in sorted(set(budgeted) | set(actual)):
        planned, spent = budgeted.get(service, ZERO), actual.get(service, ZERO)
        variance = spent - planned
        rows.append(BudgetComparison(service=service, budget_ytd=planned, actual_ytd=spent, variance=variance,
                                     variance_pct=variance / planned * 100 if planned else None))
    return rows


# --------------------------------------------------------------------------- budget tables


def parse_budget_rows(
    rows: Sequence[Row],
    *,
    fiscal_year_start: int,
    currency: str,
    catalogue: Catalogue,
    business_lines: set[str],
) -> tuple[list[BudgetEntry], list[Problem]]:
    """Budget entries from a table's rows, with every problem found (row and column)."""
    services = {s.code: s for s in catalogue.services}
    entries: list[BudgetEntry] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        line, p1 = text_field(row, "business_line", limit=CODE)
        service, p2 = text_field(row, "service", limit=CODE)
        month, p3 = month_field(row, "month")
        amount, p4 = decimal_field(row, "amount", minimum=None, limit=AMOUNT)
        quantity, p5 = decimal_field(row, "quantity", required=False, minimum=Decimal(0), limit=QUANTITY)
        tier, p6 = text_field(row, "tier", required=False, limit=CODE)
        found = [p for p in (p1, p2, p3, p4, p5, p6) if p]
        if line and line not in business_lines:
            found.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE, message=f"business line {line!r} does not exist",
                                 source=row.ref("business_line"), hint="load it with `chargeback org load` first"))
        if service and service not in services:
            found.append(Problem(code=ProblemCode.UNKNOWN_SERVICE, message=f"service {service!r} is not in the catalogue",
                                 source=row.ref("service")))
        elif service and tier and services[service].tier(tier) is None:
            found.append(Problem(code=ProblemCode.UNKNOWN_TIER, message=f"{service} has no tier {tier!r}", source=row.ref("tier"),
                                 hint=f"tiers: {', '.join(t.code for t in services[service].tiers)}"))
        if amount is not None and amount != round_minor(amount, currency):
            found.append(Problem(code=ProblemCode.TOO_PRECISE, message=f"amount {amount} has more decimals than {currency} allows",
                                 source=row.ref("amount"), hint="budget whole minor units, e.g. 1250.50"))
        if line and service and month:
            key = (line, service, month)
            if key in seen:
                found.append(Problem(code=ProblemCode.DUPLICATE,
                                     message=f"{line} {service} {month} is budgeted twice (first on row {seen[key]})",
                                     source=row.ref("month"), hint="one row per business line, service and month"))
            else:
                seen[key] = row.row
        problems += found
        if not found:
            entries.append(BudgetEntry(
                fiscal_year=fiscal_year(month, fiscal_year_start), month=month, business_line=line, service=service,
                amount=amount, quantity=quantity, tier=tier, source=row.ref()))
    return entries, problems


# --------------------------------------------------------------------------- planning workbooks


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanMonth:
    """One month of a service's drivers in a planning workbook, with the cells it came from."""

    month: str
    volume: Decimal
    tariff_version: str | None  # as written in the workbook; None: no tariff in force
    volume_ref: SourceRef
    cost_ref: SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanDriver:
    """A business line's drivers of a service (a row of the workbook's Drivers): tier and growth
    (a fraction: 0.05 is 5 %) for the year, a volume per month. ``value``: the dimension value
    the volumes name (a row of its own after the service's row, at the service's tier); "" for
    the service's own row."""

    sheet: str
    business_line: str
    business_line_ref: SourceRef
    service: str
    service_ref: SourceRef
    tier: str
    tier_ref: SourceRef
    growth: Decimal
    growth_ref: SourceRef
    months: tuple[PlanMonth, ...]
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanWorkbook:
    """The drivers read back from a planning workbook (``reports.plan_xlsx.read_plan_workbook``)."""

    file: str
    fiscal_year: int
    currency: str
    drivers: tuple[PlanDriver, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanReading:
    """An edited planning workbook as read (``reports.plan_xlsx.read_plan_workbook``): its
    drivers, or None when a problem stops it, and every problem found (``sheet!cell``)."""

    file: str
    plan: PlanWorkbook | None
    problems: tuple[Problem, ...]


def budget_from_plan(
    plan: PlanWorkbook,
    *,
    catalogue: Catalogue,
    business_lines: set[str],
    fiscal_year_start: int = 1,
) -> tuple[list[BudgetEntry], list[Problem]]:
    """The budget a planning workbook describes: each month's volume × (1 + growth), priced
    at the sheet's tier under the tariff version the sheet names, rounded once, with the tier's
    fees, the agreement's discount and true-up (:func:`plan_year`).

    Problems (each with its ``sheet!cell``): an unknown business line, service, tier or tariff
    version, a growth of −100 % or less, a negative volume.
    """
    services = {s.code: s for s in catalogue.services}
    versions = {(v.service, v.version): v for v in catalogue.tariffs}
    currency = plan.currency
    entries: list[BudgetEntry] = []
    problems: list[Problem] = []
    reported_lines: set[str] = set()
    planned: dict[tuple[str, str, str], SourceRef] = {}
    values: dict[tuple[str, str], list[PlanDriver]] = defaultdict(list)
    for driver in plan.drivers:
        if driver.value:
            values[(driver.business_line, driver.service)].append(driver)
    for driver in plan.drivers:
        found: list[Problem] = []
        first = planned.setdefault((driver.business_line, driver.service, driver.value), driver.service_ref)
        if first is not driver.service_ref:
            what = f"{driver.business_line} {driver.service}" + (f" {driver.value}" if driver.value else "")
            problems.append(Problem(code=ProblemCode.DUPLICATE, message=f"{what} is planned twice (first at {first.location})",
                                    source=driver.service_ref, hint="plan each business line's service once"))
            continue
        if driver.business_line not in business_lines:
            if driver.business_line not in reported_lines:
                found.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE,
                                     message=f"business line {driver.business_line!r} does not exist",
                                     source=driver.business_line_ref, hint="plan only business lines loaded with `chargeback org load`"))
                reported_lines.add(driver.business_line)
            problems += found
            continue
        service = services.get(driver.service)
        if service is None:
            problems.append(Problem(code=ProblemCode.UNKNOWN_SERVICE, message=f"service {driver.service!r} is not in the catalogue",
                                    source=driver.service_ref))
            continue
        if service.tier(driver.tier) is None and not driver.value:  # a value's row has its service's tier
            found.append(Problem(code=ProblemCode.UNKNOWN_TIER, message=f"{driver.service} has no tier {driver.tier!r}",
                                 source=driver.tier_ref, hint=f"tiers: {', '.join(t.code for t in service.tiers)}"))
        if (beyond := RATIO.problem("growth", driver.growth)) is not None:
            found.append(Problem(code=beyond[0], message=beyond[1], source=driver.growth_ref))
        elif driver.growth <= -1:
            found.append(Problem(code=ProblemCode.PERCENT_OUT_OF_RANGE,
                                 message=f"a growth of {driver.growth * 100}% leaves less than nothing",
                                 source=driver.growth_ref, hint="growth is above -100 %"))
        for month in driver.months:
            if (beyond := QUANTITY.problem("volume", month.volume)) is not None:
                found.append(Problem(code=beyond[0], message=beyond[1], source=month.volume_ref))
            elif month.volume < 0:
                found.append(Problem(code=ProblemCode.NEGATIVE, message=f"volume {month.volume} is negative",
                                     source=month.volume_ref, hint="plan volumes of zero or more"))
            if month.tariff_version is not None and (driver.service, month.tariff_version) not in versions:
                found.append(Problem(code=ProblemCode.INCONSISTENT,
                                     message=f"{driver.service} has no tariff version {month.tariff_version!r} in the store",
                                     source=month.cost_ref, hint="make the plan again with `chargeback plan`"))
        problems += found
        if found:
            continue
        if driver.value:
            continue  # a value's row is priced with its service's row (below)
        month_versions = [versions[(driver.service, m.tariff_version)] if m.tariff_version is not None else None
                          for m in driver.months]
        unpriced = sorted({v.version for v in month_versions if v is not None and v.price(driver.tier) is None})
        if unpriced:
            problems += [Problem(code=ProblemCode.UNKNOWN_TIER, message=f"{driver.service} {v} has no price for tier {driver.tier}",
                                 source=driver.tier_ref) for v in unpriced]
            continue
        parts = values.get((driver.business_line, driver.service), [])
        by_value = [tuple((p.value, p.months[i].volume * (1 + p.growth)) for p in parts) for i in range(len(driver.months))]
        quantities = [m.volume * (1 + driver.growth) + sum((q for _v, q in by_value[i]), Decimal(0))
                      for i, m in enumerate(driver.months)]
        priced = plan_year(catalogue, driver.business_line, driver.service, driver.tier, [m.month for m in driver.months],
                           month_versions, quantities, fiscal_year_start, currency, values=by_value)
        for month, quantity, line in zip(driver.months, quantities, priced):
            if (beyond := AMOUNT.problem("the planned amount", line.amount)) is not None:
                problems.append(Problem(code=beyond[0], message=beyond[1], source=month.cost_ref))
                continue
            entries.append(BudgetEntry(
                fiscal_year=plan.fiscal_year, month=month.month, business_line=driver.business_line, service=driver.service,
                amount=line.amount, quantity=quantity, tier=driver.tier, source=month.cost_ref))
    return entries, problems


def plan_year(catalogue: Catalogue, business_line: str, service: str, tier: str, months: Sequence[str],
              versions: Sequence[TariffVersion | None], quantities: Sequence[Decimal], fiscal_year_start: int,
              currency: str, values: Sequence[tuple[tuple[str, Decimal], ...]] | None = None) -> list[PricedMonth]:
    """A planning workbook's year of one business line's service, each month as its cost workings
    price it: the usage line (``values``: per month the parts of its quantity naming a dimension
    value, each priced at its value's price), the tier's fees (held all year), the agreement's
    discount and the commitment's true-up (an amount, or a quantity at its tier) in the year's last
    month, the business line holding the service all year (``billing.planning.plan_months``)."""
    parts = values if values is not None else [()] * len(months)
    planned = [PlannedMonth(month=m, version=v, tier=tier, quantity=q, values=p)
               for m, v, q, p in zip(months, versions, quantities, parts)]
    return price_months(planned, business_line=business_line, service=service, catalogue=catalogue, currency=currency,
                        fiscal_year_start=fiscal_year_start)
