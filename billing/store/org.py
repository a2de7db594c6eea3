"""Business lines and cost centres in the store; loading again updates in place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.periods import add_months, last_day
from billing.core.problems import Problem, ProblemCode
from billing.core.records import BusinessLine, CostCenter, Ownership
from billing.store import locks
from billing.store import schema as t

UNALLOCATED_NAME = "Unallocated (no business line)"


@dataclass(slots=True)
class OrgChanges:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchanged: int = 0


def save_business_lines(session: Session, lines: list[BusinessLine]) -> OrgChanges:
    changes = OrgChanges()
    existing = {b.code: b for b in session.scalars(select(t.BusinessLine))}
    for line in lines:
        values = dict(name=line.name, head_name=line.head_name, head_email=line.head_email, division=line.division)
        row = existing.get(line.code)
        if row is None:
            session.add(t.BusinessLine(code=line.code, **values))
            changes.added.append(line.code)
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changes.updated.append(line.code)
        else:
            changes.unchanged += 1
    session.flush()
    return changes


def ensure_business_line(session: Session, code: str, name: str) -> int:
    row = session.scalar(select(t.BusinessLine).where(t.BusinessLine.code == code))
    if row is None:
        locks.lock_new_business_line(session, code)  # another load may be creating it: look again under the lock
        row = session.scalar(select(t.BusinessLine).where(t.BusinessLine.code == code))
    if row is None:
        row = t.BusinessLine(code=code, name=name, division="Finance")
        session.add(row)
        session.flush()
    return row.id


def save_cost_centers(session: Session, centers: list[CostCenter]) -> tuple[OrgChanges, list[Problem]]:
    """Add or update cost centres. A new owner is effective-dated: the old ownership ends the
    day before the row's ``effective_from``, so past months keep their owner."""
    changes = OrgChanges()
    problems: list[Problem] = []
    lines = {b.code: b.id for b in session.scalars(select(t.BusinessLine))}
    existing = {c.code: c for c in session.scalars(select(t.CostCenter))}
    closed = list(session.scalars(select(t.Period.month).where(t.Period.status == "closed").order_by(t.Period.month)))
    for center in centers:
        owner_id = lines.get(center.business_line)
        if owner_id is None:
            problems.append(Problem(
                code=ProblemCode.UNKNOWN_BUSINESS_LINE,
                message=f"cost centre {center.code} names business line {center.business_line!r}, which does not exist",
                source=center.source, hint="load the business lines first, or correct the code",
            ))
            continue
        row = existing.get(center.code)
        if row is None:
            row = t.CostCenter(code=center.code, name=center.name, gl_code=center.gl_code)
            session.add(row)
            session.flush()
            session.add(t.CostCenterOwner(cost_center_id=row.id, business_line_id=owner_id, effective_from=center.effective_from, effective_to=None))
            changes.added.append(center.code)
            continue
        renamed = (row.name, row.gl_code) != (center.name, center.gl_code)
        row.name, row.gl_code = center.name, center.gl_code
        moved, problem = _move(session, row, owner_id, center, closed)
        if problem is not None:
            problems.append(problem)
        if moved:
            changes.moved.append(center.code)
        elif renamed:
            changes.updated.append(center.code)
        else:
            changes.unchanged += 1
    session.flush()
    return changes, problems


def _owners(session: Session, cost_center_id: int) -> list[t.CostCenterOwner]:
    return list(session.scalars(
        select(t.CostCenterOwner).where(t.CostCenterOwner.cost_center_id == cost_center_id).order_by(t.CostCenterOwner.effective_from)
    ))


def _move(session: Session, row: t.CostCenter, owner_id: int, center: CostCenter,
          closed: list[str]) -> tuple[bool, Problem | None]:
    """Move a cost centre to another business line from ``center.effective_from``. A move dated
    inside or before a closed month is refused: it would change who owned the cost centre in a
    month whose invoices are issued."""
    owners = _owners(session, row.id)
    current = owners[-1]
    if current.business_line_id == owner_id:
        return False, None
    since = center.effective_from
    touched = [month for month in closed if last_day(month) >= since]
    if touched:
        after = add_months(closed[-1], 1)
        return False, Problem(
            code=ProblemCode.PERIOD_CLOSED,
            message=f"cost centre {center.code} moves to {center.business_line} from {since}, which would change "
                    f"its owner in the closed month {touched[0]}",
            source=center.source,
            hint=f"date the move from {after}-01 (after the last closed month, {closed[-1]}), or reopen {touched[0]} first",
        )
    if since <= current.effective_from:
        return False, Problem(
            code=ProblemCode.INCONSISTENT,
            message=f"cost centre {center.code} moves to {center.business_line} from {since}, not after its current owner's start {current.effective_from}",
            source=center.source,
            hint="give the move an effective_from after the current ownership began",
        )
    current.effective_to = since - dt.timedelta(days=1)
    session.add(t.CostCenterOwner(cost_center_id=row.id, business_line_id=owner_id, effective_from=since, effective_to=None))
    return True, None


def ownerships(session: Session) -> list[Ownership]:
    query = (
        select(t.CostCenter.code, t.BusinessLine.code, t.CostCenterOwner.effective_from, t.CostCenterOwner.effective_to)
        .join(t.CostCenter, t.CostCenter.id == t.CostCenterOwner.cost_center_id)
        .join(t.BusinessLine, t.BusinessLine.id == t.CostCenterOwner.business_line_id)
        .order_by(t.CostCenter.code, t.CostCenterOwner.effective_from)
    )
    return [Ownership(cost_center=c, business_line=b, effective_from=f, effective_to=to) for c, b, f, to in session.execute(query)]


def business_lines(session: Session) -> list[BusinessLine]:
    return [
        BusinessLine(code=b.code, name=b.name, head_name=b.head_name, head_email=b.head_email, division=b.division)
        for b in session.scalars(select(t.BusinessLine).order_by(t.BusinessLine.code))
    ]


def business_line_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(t.BusinessLine.code, t.BusinessLine.id)).all())


def cost_center_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(t.CostCenter.code, t.CostCenter.id)).all())


def cost_center_gl_codes(session: Session) -> dict[str, str]:
    return dict(session.execute(select(t.CostCenter.code, t.CostCenter.gl_code)).all())
