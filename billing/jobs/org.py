"""Load the organisation file (business lines and cost centres)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from billing.organisation.read import read_org_file
from billing.core.problems import ProblemsError, errors
from billing.store import audit
from billing.store import locks
from billing.store import org as org_store
from billing.store.org import OrgChanges


@dataclass(frozen=True, slots=True)
class OrgLoadResult:
    business_lines: OrgChanges
    cost_centers: OrgChanges


def load_org(session: Session, path: Path) -> OrgLoadResult:
    lines, centers, problems = read_org_file(path)
    if errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s); nothing was loaded")
    locks.lock_master_data(session)
    line_changes = org_store.save_business_lines(session, lines)
    center_changes, problems = org_store.save_cost_centers(session, centers)
    if problems:
        raise ProblemsError(problems, f"{path}: {len(problems)} problem(s); nothing was loaded")
    audit.record(
        session, "org.load", str(path),
        f"business lines +{len(line_changes.added)} ~{len(line_changes.updated)}; "
        f"cost centres +{len(center_changes.added)} ~{len(center_changes.updated)} moved {len(center_changes.moved)}",
    )
    return OrgLoadResult(line_changes, center_changes)
