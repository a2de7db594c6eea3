"""Propose next year's rates: budgeted cost by the allocation rules, last year's volumes, and a
draft tariff version written beside a copy of the catalogue.

``rates propose --fy 2027 --out DIR`` writes:

- ``DIR/draft-2027.yaml``: the draft versions (``2027.1-draft``, in force from the first day
  of FY2027) in the tariff file format;
- ``DIR/tariffs/``: the catalogue's files with every version still open at the end of FY2026
  closed on its last day (``effective_to`` added), plus the draft: a directory that
  ``chargeback tariffs validate`` accepts and ``tariffs load`` can load;
- ``DIR/expected-recovery-2027.csv``: per service, the budget, last year's volume and charges,
  and the recovery expected at the proposed prices.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from billing.jobs.catalogue import check_catalogue
from billing.jobs.recovery import allocate_stored_month, checked_rules, rules_location
from billing.core.money import ZERO
from billing.core.periods import first_day, fiscal_months
from billing.core.problems import ChargebackError, Problem, ProblemCode, ProblemsError, Severity, SourceRef, errors
from billing.recovery.rates import RateProposal, draft_tariff_yaml, propose_rates
from billing.store import audit
from billing.store import charges as charge_store
from billing.store import costs as cost_store
from billing.store import locks
from tariffs.load import load_catalogue
from tariffs.model import Catalogue, TariffVersion
from tariffs.validate import validate_catalogue
from reports.proposal_csv import proposal_csv
from billing.jobs.workspace import default_dir


@dataclass(frozen=True, slots=True)
class RatesResult:
    proposal: RateProposal
    draft: Path
    catalogue_dir: Path
    report: Path
    budget_months: tuple[str, ...]
    history_months: tuple[str, ...]
    warnings: tuple[Problem, ...]


def propose_stored_rates(session: Session, fy: int, out_dir: Path, *, rules_path: Path | None = None,
                         tariffs_dir: Path | None = None) -> RatesResult:
    tariffs_dir = Path(tariffs_dir or os.environ.get("CHARGEBACK_TARIFFS") or default_dir("tariffs"))
    locks.lock_for_writing(session)  # it records its run in the audit trail
    catalogue, problems = check_catalogue(tariffs_dir)
    if errors(problems):
        raise ProblemsError(problems, f"{tariffs_dir}: {len(errors(problems))} problem(s) in the catalogue")
    path = rules_location(rules_path)
    rules, warnings = checked_rules(path, catalogue)
    start_month = audit.settings(session).fiscal_year_start_month
    months = fiscal_months(fy, start_month)
    last_year = fiscal_months(fy - 1, start_month)
    effective_from = first_day(months[0])
    loaded = set(cost_store.cost_months(session, "budget"))
    if not loaded & set(months):
        raise ChargebackError(f"no budget costs are loaded for FY{fy}: load them with `chargeback costs load FILE` "
                              f"(scenario budget)")
    rated = set(charge_store.rated_months(session))
    # a budget month is priced by the volumes of the same month a year before: only months with both count
    pairs = [(m, h) for m, h in zip(months, last_year) if m in loaded and h in rated]
    if not pairs:
        raise ChargebackError(f"no month of FY{fy - 1} is rated: last year's volumes are what the rates are set by; "
                              f"run `chargeback month run` for FY{fy - 1} months first")
    budget_months = [m for m, _ in pairs]
    history_months = tuple(h for _, h in pairs)
    budget: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for month in budget_months:
        result = allocate_stored_month(session, month, scenario="budget", catalogue=catalogue, rules=rules, rules_path=path)
        for code, flow in result.service_flows().items():
            budget[code] += flow.remaining
    history = [c for m in history_months for c in charge_store.month_charges(session, m)]
    base_versions = _base_versions(catalogue, effective_from)
    proposal = propose_rates(
        fiscal_year=fy, version=f"{fy}.1-draft", effective_from=effective_from, catalogue=catalogue,
        base_versions=base_versions, budget=dict(budget), history=history, setting=rules.rate_setting,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = (f"Draft tariffs for FY{fy} (from {effective_from}), proposed by `chargeback rates propose --fy {fy}`\n"
              f"from the FY{fy} budget allocated by {path} and the volumes charged in FY{fy - 1}.\n"
              f"Review the prices, rename the version (e.g. \"{fy}.1\") and load it with the catalogue.")
    draft_text = draft_tariff_yaml(proposal, header=header)
    draft = out_dir / f"draft-{fy}.yaml"
    draft.write_text(draft_text, encoding="utf-8")
    catalogue_dir = out_dir / "tariffs"
    _write_catalogue_copy(tariffs_dir, catalogue, catalogue_dir, effective_from, draft_text, draft.name)
    report = out_dir / f"expected-recovery-{fy}.csv"
    report.write_bytes(proposal_csv(proposal))
    audit.record(session, "rates.propose", f"FY{fy}", f"draft {draft}, {len(proposal.services)} services")
    skipped = [m for m in months if m not in budget_months]
    if skipped:
        warnings = list(warnings) + [Problem(
            code=ProblemCode.INCONSISTENT, severity=Severity.WARNING, source=SourceRef(file=f"rates FY{fy}"),
            message=f"the rates are set on {len(budget_months)} month(s) {budget_months[0]}..{budget_months[-1]}; "
                    f"{len(skipped)} month(s) have no budget or no rated month a year before",
            hint="load the budget for every month and rate last year's months for a full-year proposal")]
    return RatesResult(proposal=proposal, draft=draft, catalogue_dir=catalogue_dir, report=report,
                       budget_months=tuple(budget_months), history_months=history_months,
                       warnings=tuple(warnings) + proposal.problems)


def _base_versions(catalogue: Catalogue, effective_from: dt.date) -> dict[str, TariffVersion]:
    day_before = effective_from - dt.timedelta(days=1)
    found = {}
    for service in catalogue.services:
        later = [tv for tv in catalogue.tariffs if tv.service == service.code and tv.effective_from >= effective_from]
        if later:
            raise ChargebackError(f"{service.code} already has tariff version {later[0].version} from "
                                  f"{later[0].effective_from}; a draft for {effective_from} would overlap it")
        version = catalogue.tariff_at(service.code, day_before)
        if version is not None:
            found[service.code] = version
    return found


def _write_catalogue_copy(source: Path, catalogue: Catalogue, target: Path, effective_from: dt.date, draft_text: str,
                          draft_name: str) -> None:
    """Copy the tariff files, closing every version still open on ``effective_from`` the day
    before (a line ``effective_to:`` is added after its ``effective_from:``), add the draft,
    and check that the copy validates."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    closing: dict[str, list[TariffVersion]] = defaultdict(list)
    for tv in catalogue.tariffs:
        if tv.effective_from < effective_from and (tv.effective_to is None or tv.effective_to >= effective_from):
            closing[tv.source.file if tv.source else ""].append(tv)
    day_before = (effective_from - dt.timedelta(days=1)).isoformat()
    for path in sorted(p for p in Path(source).iterdir() if p.suffix == ".yaml" and p.is_file()):
        text = path.read_text(encoding="utf-8")
        for tv in sorted(closing.get(str(path), []), key=lambda v: -(v.source.row or 0)):
            text = _close_version(text, tv, day_before, path)
        (target / path.name).write_text(text, encoding="utf-8")
    (target / draft_name).write_text(draft_text, encoding="utf-8")
    copy, problems = load_catalogue(target)
    problems += validate_catalogue(copy)
    if errors(problems):
        raise ProblemsError(problems, f"{target}: the catalogue with the draft does not validate")


def _close_version(text: str, tv: TariffVersion, day: str, path: Path) -> str:
    lines = text.splitlines(keepends=True)
    start = (tv.source.row or 1) - 1
    pattern = re.compile(r"^(?P<lead>\s*(?:-\s+)?)effective_from:\s*\S+")
    for i in range(start, len(lines)):
        line = lines[i]
        if i > start and re.match(r"^\s*-\s+service:", line):
            break
        if tv.effective_to is not None:
            found = re.search(r"effective_to:\s*[0-9-]+", line)
            if found:
                lines[i] = line[:found.start()] + f"effective_to: {day}" + line[found.end():]
                return "".join(lines)
            continue
        inline = re.search(r"effective_from:\s*[0-9-]+", line)
        if inline and "{" in line[:inline.start()]:
            lines[i] = line[:inline.end()] + f", effective_to: {day}" + line[inline.end():]
            return "".join(lines)
        match = pattern.match(line)
        if match:
            indent = " " * len(match.group("lead"))
            ending = "\n" if line.endswith("\n") else ""
            lines.insert(i + 1, f"{indent}effective_to: {day}{ending or chr(10)}")
            if not ending:
                lines[i] = line + "\n"
            return "".join(lines)
    raise ChargebackError(f"{path}: could not find where {tv.service} {tv.version} starts; close it by hand "
                          f"(effective_to: {day})")
