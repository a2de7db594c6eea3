"""What a closed month's documents are rendered from, frozen at close (docs/store.md).

The close records itself (``month_close``) and writes each section of its snapshot as
canonical JSON (``close_snapshot``) in its own transaction. Rows are only ever inserted: a
section already written is never replaced, and a month closed again after a reopen gets a new
close with a snapshot of its own. Readers take the newest close of a month.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from billing.store import schema as t


class Section(enum.StrEnum):
    SETTINGS = "settings"  # key "": every setting
    BUSINESS_LINE = "business_line"  # key: business line code
    SERVICE = "service"  # key: service code (tariffs.load.service_to_dict)
    SLA = "sla"  # key "": the month's measured service levels
    STATEMENT = "statement"  # key: business line code; the statement's figures
    TIER_MONTH = "tier_month"  # key: business line code; the month priced at every tier
    BRIDGE = "bridge"  # key: business line code; why its bill changed from the month before
    PICTURE = "picture"  # key: a digest of a statement picture's figures and drawing code; the picture drawn


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthClose:
    id: int
    month: str
    run_id: int | None
    closed_at: dt.datetime
    closed_by: str


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_close(session: Session, month: str, *, run_id: int | None, user: str, at: dt.datetime) -> MonthClose:
    row = t.MonthClose(month=month, run_id=run_id, closed_at=at, closed_by=user)
    session.add(row)
    session.flush()
    return MonthClose(id=row.id, month=month, run_id=run_id, closed_at=at, closed_by=user)


def latest_close(session: Session, month: str) -> MonthClose | None:
    row = session.scalar(select(t.MonthClose).where(t.MonthClose.month == month).order_by(t.MonthClose.id.desc()).limit(1))
    if row is None:
        return None
    closed_at = row.closed_at  # in UTC, whatever the database session's time zone (SQLite keeps it naive)
    closed_at = closed_at.astimezone(dt.timezone.utc) if closed_at.tzinfo else closed_at.replace(tzinfo=dt.timezone.utc)
    return MonthClose(id=row.id, month=row.month, run_id=row.run_id, closed_at=closed_at, closed_by=row.closed_by)


def write(session: Session, close: MonthClose, section: Section, entries: Mapping[str, Any]) -> None:
    """Insert ``entries`` (key → JSON-safe data) into ``section``; keys already there are left
    as they are (a snapshot is never updated), also when another command wrote them meanwhile
    (two first statements of a month closed before snapshots, under their shared lock)."""
    have = set(session.scalars(select(t.CloseSnapshot.key).where(
        t.CloseSnapshot.close_id == close.id, t.CloseSnapshot.section == section.value)))
    rows = [dict(close_id=close.id, section=section.value, key=key, data=canonical(data))
            for key, data in sorted(entries.items()) if key not in have]
    if not rows:
        return
    dialect = session.connection().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        session.execute(module.insert(t.CloseSnapshot).on_conflict_do_nothing(
            index_elements=["close_id", "section", "key"]), rows)
    else:
        session.execute(insert(t.CloseSnapshot), rows)


def read_keys(session: Session, close: MonthClose, section: Section, keys: Iterable[str]) -> dict[str, Any]:
    """The entries of ``section`` with one of ``keys`` (key → data; keys not written are missing)."""
    wanted = sorted(set(keys))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 500):  # under every database's limit of bound parameters
        query = select(t.CloseSnapshot.key, t.CloseSnapshot.data).where(
            t.CloseSnapshot.close_id == close.id, t.CloseSnapshot.section == section.value,
            t.CloseSnapshot.key.in_(wanted[start:start + 500]))
        found.update((key, json.loads(data)) for key, data in session.execute(query))
    return found


def read(session: Session, close: MonthClose, sections: Iterable[Section] | None = None) -> dict[Section, dict[str, Any]]:
    """The snapshot's sections (all, or those named): section → key → data; a section never
    written is missing from the result."""
    query = select(t.CloseSnapshot.section, t.CloseSnapshot.key, t.CloseSnapshot.data).where(t.CloseSnapshot.close_id == close.id)
    if sections is not None:
        query = query.where(t.CloseSnapshot.section.in_([s.value for s in sections]))
    found: dict[Section, dict[str, Any]] = {}
    for section, key, data in session.execute(query.order_by(t.CloseSnapshot.id)):
        found.setdefault(Section(section), {})[key] = json.loads(data)
    return found
