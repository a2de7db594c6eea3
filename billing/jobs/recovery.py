"""Allocation and recovery from what is stored: read the month's inputs, run the pure core.

Nothing here writes to the store: allocation and recovery are computed on demand from the
stored costs, drivers, usage and charges and the allocation rules (YAML).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from billing.recovery.allocation import AllocationInputs, AllocationResult, NodeKind, RuleSet, allocate_month
from billing.recovery.allocation_rules import load_rules, validate_rules
from billing.recovery.composites import composites_of
from billing.jobs.costs import cost_currency
from billing.core.money import ZERO
from billing.core.periods import add_months, fiscal_months, parse_month
from billing.core.problems import ChargebackError, Problem, ProblemCode, ProblemsError, errors
from billing.recovery.over_under import RecoveryReport, RecoverySummary, recovery_report
from billing.core.records import Charge, ChargeKind
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import costs as cost_store
from billing.store import org as org_store
from billing.store import usage as usage_store
from billing.jobs.workspace import default_dir
from tariffs.model import Catalogue

DEFAULT_RULES = "allocation/ here when it holds rules, else examples/allocation"

__all__ = [
    "DEFAULT_RULES", "rules_location", "checked_rules", "month_inputs", "allocate_stored_month", "explain_allocation",
    "recovery_for", "recovery_summary", "check_rules_files",
    "business_line_allocations", "AllocationExplanation",
]


def rules_location(path: Path | None = None) -> Path:
    """The rules file or folder: the argument, else ``CHARGEBACK_ALLOCATION``, else ``allocation/`` here
    (a folder ``chargeback init`` wrote), else examples/allocation."""
    return Path(path or os.environ.get("CHARGEBACK_ALLOCATION") or default_dir("allocation"))


def check_rules_files(path: Path, catalogue: Catalogue) -> tuple[RuleSet, list[Problem]]:
    """Read and validate rules against a catalogue; every problem at once (warnings too)."""
    rules, problems = load_rules(path)
    return rules, problems + validate_rules(rules, catalogue)


def checked_rules(path: Path, catalogue: Catalogue) -> tuple[RuleSet, list[Problem]]:
    """The rules, or ProblemsError naming every problem; returns the warnings."""
    rules, problems = check_rules_files(path, catalogue)
    if errors(problems):
        raise ProblemsError(problems, f"{path}: the allocation rules have {len(errors(problems))} problem(s)")
    return rules, problems


def _catalogue(session: Session) -> Catalogue:
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    return catalogue


def _usage_by_line(session: Session, month: str) -> dict[str, dict[str, Decimal]]:
    frame = usage_store.month_usage(session, month)
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    if frame.height:
        grouped = frame.group_by(["service", "business_line"]).agg(pl.col("quantity").sum())
        for service, line, quantity in grouped.select(["service", "business_line", "quantity"]).iter_rows():
            found[service][line] = Decimal(quantity) if quantity is not None else ZERO
    return dict(found)


def _volumes(charges: list[Charge]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for charge in charges:
        if charge.kind is ChargeKind.USAGE:
            found[charge.service] += charge.quantity
    return dict(found)


def month_inputs(session: Session, month: str, catalogue: Catalogue, *, currency: str,
                 scenario: str = "actual") -> AllocationInputs:
    """The inputs of one month's allocation. For the budget, a month's usage, volumes and (when
    not loaded for the month itself) drivers are the same month of the year before."""
    unallocated = audit.settings(session).unallocated_business_line
    lines = tuple(sorted(code for code in org_store.business_line_ids(session) if code != unallocated))
    costs = tuple(cost_store.cost_lines(session, [month], scenario))
    notes: list[str] = []
    history = month if scenario == "actual" else add_months(month, -12)
    drivers = cost_store.driver_values(session, month)
    if scenario != "actual":
        earlier = cost_store.driver_values(session, history)
        for driver, values in earlier.items():
            if driver not in drivers:
                drivers[driver] = values
                notes.append(f"driver {driver}: no values for {month}, those of {history} are used")
        notes.append(f"budget: usage and volumes of {history} stand for {month}")
    return AllocationInputs(
        month=month, currency=currency, costs=costs, drivers=drivers, usage=_usage_by_line(session, history),
        volumes=_volumes(charge_store.month_charges(session, history)), business_lines=lines,
        composites=composites_of(catalogue), notes=tuple(notes),
    )


def _target_problems(session: Session, rules: RuleSet) -> list[Problem]:
    known = set(org_store.business_line_ids(session))
    problems = []
    for step in rules.steps:
        for target in step.targets:
            if target.node.kind is NodeKind.BUSINESS_LINE and target.node.code not in known:
                problems.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE, source=target.source or step.source,
                                        message=f"step {step.name!r} allocates to unknown business line {target.node.code!r}",
                                        hint="load it with `chargeback org load`, or correct the rules"))
    return problems


def allocate_stored_month(session: Session, month: str, *, rules_path: Path | None = None, scenario: str = "actual",
                          catalogue: Catalogue | None = None, rules: RuleSet | None = None) -> AllocationResult:
    """Allocate one month's stored costs; ProblemsError when a rule cannot run (a driver
    missing for a business line, a cost in an undeclared pool, ...)."""
    month = parse_month(month)
    catalogue = catalogue or _catalogue(session)
    path = rules_location(rules_path)
    if rules is None:
        rules, _ = checked_rules(path, catalogue)
    target_problems = _target_problems(session, rules)
    if target_problems:
        raise ProblemsError(target_problems, f"{path}: {len(target_problems)} problem(s) with the business lines named")
    inputs = month_inputs(session, month, catalogue, currency=cost_currency(session), scenario=scenario)
    if not inputs.costs:
        raise ChargebackError(f"no {scenario} costs are loaded for {month}: load them with `chargeback costs load FILE`")
    result = allocate_month(rules, inputs)
    if errors(result.problems):
        raise ProblemsError(list(result.problems), f"{month}: the allocation has {len(errors(result.problems))} problem(s)")
    return result


# --------------------------------------------------------------------------- explain


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationExplanation:
    """A month's allocation with what `allocation explain` says about it (reports.recovery_text)."""

    month: str
    scenario: str
    rules: Path
    result: AllocationResult
    warnings: tuple[Problem, ...]


def explain_allocation(session: Session, month: str, *, rules_path: Path | None = None,
                       scenario: str = "actual") -> AllocationExplanation:
    """The month's allocation by the rules at ``rules_path``, with the rules' warnings."""
    month = parse_month(month)
    catalogue = _catalogue(session)
    path = rules_location(rules_path)
    rules, warnings = checked_rules(path, catalogue)
    result = allocate_stored_month(session, month, scenario=scenario, catalogue=catalogue, rules=rules, rules_path=path)
    return AllocationExplanation(month=month, scenario=scenario, rules=path, result=result, warnings=tuple(warnings))


# --------------------------------------------------------------------------- recovery


def recovery_for(session: Session, *, month: str | None = None, fy: int | None = None,
                 rules_path: Path | None = None) -> RecoveryReport:
    """The recovery report for a month or a fiscal year (its months with actual costs)."""
    if (month is None) == (fy is None):
        raise ChargebackError("give either a month or a fiscal year")
    catalogue = _catalogue(session)
    path = rules_location(rules_path)
    rules, warnings = checked_rules(path, catalogue)
    if month is not None:
        months = [parse_month(month)]
        period = months[0]
    else:
        start = audit.settings(session).fiscal_year_start_month
        loaded = set(cost_store.cost_months(session, "actual"))
        months = [m for m in fiscal_months(fy, start) if m in loaded]
        period = f"FY{fy}"
        if not months:
            raise ChargebackError(f"no actual costs are loaded for any month of FY{fy}: load them with `chargeback costs load FILE`")
    allocations = [allocate_stored_month(session, m, catalogue=catalogue, rules=rules, rules_path=path) for m in months]
    charges = [c for m in months for c in charge_store.month_charges(session, m)]
    report = recovery_report(period=period, allocations=allocations, charges=charges, catalogue=catalogue, rules=rules,
                             currency=allocations[0].currency)
    unrated = [m for m in months if charge_store.last_run(session, m) is None]
    extra = [f"{m} is not rated yet: nothing is recovered through tariffs (run `chargeback month run {m}`)" for m in unrated]
    extra += [f"warning: {p.render()}" for p in warnings]
    if extra:
        report = replace(report, notes=tuple(extra) + report.notes)
    return report


def recovery_summary(session: Session, month: str, *, rules_path: Path | None = None) -> RecoverySummary | None:
    """The month's recovery for `month review` (cost, recovered, allocated, recovery % and
    what sits in overhead); None when no actual costs are loaded for the month. Never raises
    on bad rules or data: the summary says why it has no figures."""
    month = parse_month(month)
    if not cost_store.cost_lines(session, [month], "actual"):
        return None
    path = rules_location(rules_path)
    if not path.exists():
        return RecoverySummary(month=month, rules=str(path), missing_rules=True)
    try:
        report = recovery_for(session, month=month, rules_path=path)
    except ChargebackError as exc:
        return RecoverySummary(month=month, rules=str(path), refused=str(exc))
    return RecoverySummary(month=month, rules=str(path), total=report.total, currency=report.currency)


def business_line_allocations(session: Session, month: str, *, rules_path: Path | None = None,
                              ) -> dict[str, tuple[tuple[str, Decimal], ...]]:
    """For statements: business line → ((shared service or pool it was allocated, amount), ...)
    for the month; empty when no actual costs are loaded. Raises like `recovery` on bad rules."""
    month = parse_month(month)
    if not cost_store.cost_lines(session, [month], "actual"):
        return {}
    return allocate_stored_month(session, month, rules_path=rules_path).by_business_line()
