"""Load a budget (a table or an edited planning workbook); budget against actual, year to date.

Actual is what was rated: the charges of each month's latest rating run, service credits
included (chargeback and showback alike), summed from the rounded lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from billing.planning.budgets import (
    COLUMNS, OPTIONAL, BudgetComparison, BudgetEntry, PlanReading, budget_from_plan, compare_budget, parse_budget_rows,
)
from billing.planning.budget_bridge import BudgetBridge, UsedFigure, budget_bridge
from billing.planning.variance import BudgetSummary, LineBudget
from billing.core.limits import path_problem
from billing.core.money import ZERO
from billing.core.periods import fiscal_months, fiscal_year, parse_month
from billing.core.problems import ChargebackError, Problem, ProblemCode, ProblemsError, SourceRef, errors, excerpt
from billing.store import audit
from billing.store import budgets as budget_store
from billing.store import catalogue as catalogue_store
from billing.store import locks
from billing.store import org as org_store
from billing.files.tables import read_table


@dataclass(frozen=True, slots=True)
class BudgetLoadResult:
    file: str
    kind: str  # table | plan
    fiscal_years: tuple[int, ...]
    business_lines: tuple[str, ...]
    lines: int
    total: Decimal
    currency: str
    warnings: tuple[Problem, ...]


def load_budget_file(session: Session, path: Path, *, plan: PlanReading | None = None) -> BudgetLoadResult:
    """Load a budget table (CSV or .xlsx) at ``path`` or, given ``plan``, the drivers of a planning
    workbook made by ``chargeback plan`` and edited by a planner (read from ``path`` by
    ``billing.api.read_budget_plan``; a job takes the records, never the workbook).

    For each business line in the file, its budget for the fiscal year is replaced. Any
    problem (with its row and column, or sheet and cell) and nothing is loaded.
    """
    if (too_long := path_problem(path)) is not None:
        raise ChargebackError(f"{excerpt(str(path))}: {too_long}; nothing was loaded")
    locks.lock_master_data(session)
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    lines = set(org_store.business_line_ids(session))
    start = audit.settings(session).fiscal_year_start_month
    currency = audit.settings(session).currency
    entries: list[BudgetEntry] = []
    if plan is not None:
        kind = "plan"
        problems = list(plan.problems)
        if plan.plan is not None:
            problems += _plan_matches_settings(plan.file, plan.plan.fiscal_year, plan.plan.currency, plan.plan.drivers,
                                               start, currency)
            if not errors(problems):
                entries, more = budget_from_plan(plan.plan, catalogue=catalogue, business_lines=lines, fiscal_year_start=start)
                problems += more
    else:
        kind = "table"
        rows, problems = read_table(path, required=COLUMNS, optional=OPTIONAL, numbers=("amount", "quantity"))
        entries, more = parse_budget_rows(rows, fiscal_year_start=start, currency=currency, catalogue=catalogue,
                                          business_lines=lines)
        problems += more
    if errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s); nothing was loaded")
    if not entries:
        raise ChargebackError(f"{path}: no budget lines found; nothing was loaded")
    written = budget_store.replace_budget(session, entries, file_name=str(path), at=audit.now(), fiscal_year_start=start)
    years = tuple(sorted({e.fiscal_year for e in entries}))
    covered = tuple(sorted({e.business_line for e in entries}))
    total = sum((e.amount for e in entries), ZERO)
    audit.record(session, "budget.load", str(path),
                 f"{written} lines for FY{', FY'.join(map(str, years))}: {', '.join(covered)}; total {total}")
    return BudgetLoadResult(file=str(path), kind=kind, fiscal_years=years, business_lines=covered, lines=written,
                            total=total, currency=currency, warnings=tuple(problems))


def _plan_matches_settings(file: str, year: int, plan_currency: str, drivers, start: int, currency: str) -> list[Problem]:
    problems = []
    if plan_currency != currency:
        problems.append(Problem(code=ProblemCode.INCONSISTENT, message=f"the plan is in {plan_currency}, the engine in {currency}",
                                source=SourceRef(file=file, location="Summary!B3"), hint="make the plan again"))
    expected = fiscal_months(year, start)
    for driver in drivers:
        if [m.month for m in driver.months] != expected:
            problems.append(Problem(
                code=ProblemCode.INCONSISTENT,
                message=f"the sheet's months {driver.months[0].month}..{driver.months[-1].month} are not fiscal year {year} "
                        f"({expected[0]}..{expected[-1]})",
                source=driver.business_line_ref, hint="the fiscal year start changed since the plan was made: make it again"))
            break
    return problems


def _year_to_date(session: Session, month: str) -> tuple[int, list[str]]:
    month = parse_month(month)
    start = audit.settings(session).fiscal_year_start_month
    year = fiscal_year(month, start)
    return year, [m for m in fiscal_months(year, start) if m <= month]


def _actual(session: Session, months: list[str], business_line: str | None = None) -> dict[tuple[str, str], Decimal]:
    actual: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for figure in budget_store.rated_figures(session, months):
        if business_line is None or figure.business_line == business_line:
            actual[(figure.business_line, figure.service)] += figure.amount
    return actual


def budget_rows(session: Session, business_line: str, month: str) -> list[BudgetComparison]:
    """Budget against actual per service for ``business_line``, from the start of the fiscal
    year to ``month`` (inclusive); empty when the business line has no budget for that year.
    For statements, month review and exports."""
    _year, months = _year_to_date(session, month)
    entries = budget_store.budget_entries(session, months=months, business_line=business_line)
    if not entries:
        return []
    actual = _actual(session, months, business_line)
    return compare_budget(entries, {service: amount for (_line, service), amount in actual.items()})


@dataclass(frozen=True, slots=True)
class BudgetToDate:
    """`budget show`: budget against actual from the start of the fiscal year, per business line
    (:class:`LineBudget`) or, for one business line, per service (:class:`BudgetComparison`), in
    the engine's currency; no rows when the year has no budget."""

    currency: str
    rows: tuple[LineBudget, ...] | tuple[BudgetComparison, ...]


def budget_to_date(session: Session, month: str, *, business_line: str | None = None) -> BudgetToDate:
    rows = budget_rows(session, business_line, month) if business_line else budget_by_business_line(session, month)[2]
    return BudgetToDate(currency=audit.settings(session).currency, rows=tuple(rows))


def budget_rows_by_line(session: Session, month: str) -> dict[str, list[BudgetComparison]]:
    """:func:`budget_rows` of every business line with a budget, read at once (for a month's
    statements): business line → its comparisons."""
    _year, months = _year_to_date(session, month)
    entries = budget_store.budget_entries(session, months=months)
    if not entries:
        return {}
    by_line: dict[str, list[BudgetEntry]] = defaultdict(list)
    for entry in entries:
        by_line[entry.business_line].append(entry)
    actual = _actual(session, months)
    return {line: compare_budget(own, {service: amount for (spent_by, service), amount in actual.items() if spent_by == line})
            for line, own in by_line.items()}


def budget_bridges_by_line(session: Session, month: str,
                           rows: dict[str, list[BudgetComparison]]) -> dict[str, BudgetBridge]:
    """Each budgeted business line's year to date against its budget, step by step
    (``billing.planning.budget_bridge``), its totals ``rows`` (:func:`budget_rows_by_line`)."""
    if not rows:
        return {}
    _year, months = _year_to_date(session, month)
    budgeted: dict[str, list[tuple[str, str, Decimal, Decimal | None]]] = defaultdict(list)
    for entry in budget_store.budget_entries(session, months=months):
        budgeted[entry.business_line].append((entry.month, entry.service, entry.amount, entry.quantity))
    used: dict[str, list[UsedFigure]] = defaultdict(list)
    currencies: dict[str, str] = {}
    for f in budget_store.rated_figures(session, months):
        used[f.business_line].append(UsedFigure(month=f.month, service=f.service, kind=f.kind, quantity=f.quantity,
                                                amount=f.amount))
        currencies.setdefault(f.business_line, f.currency)
    currency = audit.settings(session).currency
    return {line: budget_bridge([(r.service, r.budget_ytd, r.actual_ytd) for r in own], budgeted.get(line, []),
                                used.get(line, []), currencies.get(line, currency))
            for line, own in rows.items()}


def budget_by_business_line(session: Session, month: str) -> tuple[int, list[str], list[LineBudget]]:
    """(fiscal year, months to date, one row per business line with a budget or charges) —
    empty rows when nothing is budgeted for the year."""
    year, months = _year_to_date(session, month)
    entries = budget_store.budget_entries(session, months=months)
    if not entries:
        return year, months, []
    budget: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        budget[entry.business_line] += entry.amount
    spent: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (line, _service), amount in _actual(session, months).items():
        spent[line] += amount
    return year, months, [LineBudget(business_line=b, budget_ytd=budget.get(b, ZERO), actual_ytd=spent.get(b, ZERO))
                          for b in sorted(set(budget) | set(spent))]


def budget_summary(session: Session, month: str) -> BudgetSummary | None:
    """The fiscal year's budget against actual up to ``month`` over every business line (for
    `month review`); None when the year has no budget."""
    year, months, rows = budget_by_business_line(session, month)
    if not rows:
        return None
    return BudgetSummary(fiscal_year=year, months=tuple(months), currency=audit.settings(session).currency,
                         rows=tuple(rows))
