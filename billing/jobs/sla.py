"""Load measured service levels (availability, response, restore) per month."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from billing.core.problems import ChargebackError, Problem, ProblemCode, ProblemsError
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import locks
from billing.store import org as org_store
from billing.store import sla as sla_store
from billing.core.limits import CODE, MEASURE
from billing.files.fields import decimal_field, month_field, text_field
from billing.files.tables import read_table
from tariffs.model import Metric

COLUMNS = ("month", "service", "tier", "metric", "achieved")
OPTIONAL = ("business_line",)


@dataclass(frozen=True, slots=True)
class SlaLoadResult:
    rows: int
    months: tuple[str, ...]
    rated_months: tuple[str, ...]


def load_sla_file(session: Session, path: Path) -> SlaLoadResult:
    rows, problems = read_table(path, required=COLUMNS, optional=OPTIONAL, numbers=("achieved",))
    locks.lock_master_data(session)  # no close meanwhile: the closed months checked below stay as read
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services}
    lines = set(org_store.business_line_ids(session))
    metrics = {m.value for m in Metric}
    parsed = []
    for row in rows:
        month, p1 = month_field(row, "month")
        service, p2 = text_field(row, "service", limit=CODE)
        tier, p3 = text_field(row, "tier", limit=CODE)
        metric, p4 = text_field(row, "metric", limit=CODE)
        achieved, p5 = decimal_field(row, "achieved", minimum=None, limit=MEASURE)
        line, p6 = text_field(row, "business_line", required=False, limit=CODE)
        found = [p for p in (p1, p2, p3, p4, p5, p6) if p]
        if service and service not in services:
            found.append(Problem(code=ProblemCode.UNKNOWN_SERVICE, message=f"service {service!r} is not in the catalogue", source=row.ref("service")))
        elif service and tier and services[service].tier(tier) is None:
            found.append(Problem(code=ProblemCode.UNKNOWN_TIER, message=f"{service} has no tier {tier!r}", source=row.ref("tier"),
                                 hint=f"tiers: {', '.join(t.code for t in services[service].tiers)}"))
        if metric and metric not in metrics:
            found.append(Problem(code=ProblemCode.VALUE_INVALID, message=f"metric {metric!r} is unknown", source=row.ref("metric"),
                                 hint=f"use one of {', '.join(sorted(metrics))}"))
        if line and line not in lines:
            found.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE, message=f"business line {line!r} does not exist", source=row.ref("business_line")))
        if achieved is not None and metric == "availability_pct" and not (0 <= achieved <= 100):
            found.append(Problem(code=ProblemCode.PERCENT_OUT_OF_RANGE, message=f"availability {achieved} is not a percentage", source=row.ref("achieved")))
        problems += found
        if not found:
            parsed.append((row, month, service, tier, metric, achieved, line or ""))
    if problems:
        raise ProblemsError(problems, f"{path}: {len(problems)} problem(s); nothing was loaded")
    closed = set(charge_store.closed_months(session))
    shut = sorted({p[1] for p in parsed} & closed)
    if shut:
        raise ChargebackError(f"{path}: service levels for the closed month {', '.join(shut)} cannot change; "
                              f"reopen it first, or settle a missed credit with `chargeback adjust`")
    for row, month, service, tier, metric, achieved, line in parsed:
        sla_store.save_measurement(session, month=month, service=service, tier=tier, business_line=line, metric=metric,
                                   achieved=achieved, file=str(path), row=row.row)
    months = tuple(sorted({p[1] for p in parsed}))
    audit.record(session, "sla.load", str(path), f"{len(parsed)} measurements for {', '.join(months)}")
    rated = tuple(m for m in months if m in set(charge_store.rated_months(session)))
    return SlaLoadResult(rows=len(parsed), months=months, rated_months=rated)
