"""IT cost feeds, their entries and rejects, and allocation drivers in the store."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.core.records import RejectedRow
from billing.recovery.allocation import CostLine
from billing.recovery.costs import DriverRecord
from billing.core import limits
from billing.core.money import ZERO
from billing.core.problems import Problem, SourceRef, excerpt, path_excerpt
from billing.store import schema as t


@dataclass(frozen=True, slots=True, kw_only=True)
class CostFeedInfo:
    id: int
    file_name: str
    content_hash: str
    months: tuple[str, ...]
    status: str
    loaded_at: dt.datetime
    loaded_by: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_duplicate: int
    amount_total: Decimal
    rows_conflict: int = 0


def _info(row: t.CostFeed) -> CostFeedInfo:
    return CostFeedInfo(
        id=row.id, file_name=row.file_name, content_hash=row.content_hash,
        months=tuple(m for m in row.months.split(",") if m), status=row.status, loaded_at=row.loaded_at,
        loaded_by=row.loaded_by, rows_read=row.rows_read, rows_loaded=row.rows_loaded, rows_rejected=row.rows_rejected,
        rows_duplicate=row.rows_duplicate, amount_total=row.amount_total, rows_conflict=row.rows_conflict,
    )


def feed_with_hash(session: Session, digest: str) -> CostFeedInfo | None:
    row = session.scalar(select(t.CostFeed).where(t.CostFeed.content_hash == digest, t.CostFeed.status == "active"))
    return _info(row) if row else None


def feeds(session: Session) -> list[CostFeedInfo]:
    return [_info(r) for r in session.scalars(select(t.CostFeed).order_by(t.CostFeed.id))]


def create_feed(session: Session, *, file_name: str, digest: str, user: str, at: dt.datetime) -> int:
    feed = t.CostFeed(file_name=file_name, content_hash=digest, status="active", months="", loaded_at=at, loaded_by=user,
                      rows_read=0, rows_loaded=0, rows_rejected=0, rows_duplicate=0, rows_conflict=0, amount_total=ZERO)
    session.add(feed)
    session.flush()
    return feed.id


def finish_feed(session: Session, feed_id: int, *, months: list[str], rows_read: int, rows_loaded: int,
                rows_rejected: int, rows_duplicate: int, amount_total: Decimal, rows_conflict: int = 0) -> None:
    feed = session.get(t.CostFeed, feed_id)
    feed.months = ",".join(sorted(months))
    feed.rows_read, feed.rows_loaded, feed.rows_rejected, feed.rows_duplicate = rows_read, rows_loaded, rows_rejected, rows_duplicate
    feed.rows_conflict = rows_conflict
    feed.amount_total = amount_total
    session.flush()


def feeds_covering(session: Session, keys: set[tuple[str, str]], *, exclude: int) -> list[int]:
    """Active feeds with entries in any of ``keys`` (scenario, month)."""
    if not keys:
        return []
    months = {m for _, m in keys}
    rows = session.execute(
        select(t.CostEntry.feed_id, t.CostEntry.scenario, t.CostEntry.month)
        .join(t.CostFeed, t.CostFeed.id == t.CostEntry.feed_id)
        .where(t.CostFeed.status == "active", t.CostEntry.month.in_(sorted(months)), t.CostEntry.feed_id != exclude)
    )
    return sorted({feed for feed, scenario, month in rows if (scenario, month) in keys})


def mark_replaced(session: Session, old_ids: list[int], new_id: int) -> None:
    if old_ids:
        session.execute(update(t.CostFeed).where(t.CostFeed.id.in_(old_ids)).values(status="replaced", replaced_by_id=new_id))


@dataclass(frozen=True, slots=True)
class StoredCost:
    """A cost line as loaded: what a line of the same identity is compared with."""

    amount: Decimal
    feed_id: int
    file_name: str
    row_no: int


def identities(session: Session, months: set[str], *, exclude_feeds: set[int]) -> dict[tuple[str, str, str, str, str], StoredCost]:
    """(scenario, month, cost pool, GL account, source ref) of active entries in ``months``,
    each with its amount and where it was loaded from."""
    if not months:
        return {}
    query = (
        select(t.CostEntry.scenario, t.CostEntry.month, t.CostEntry.cost_pool, t.CostEntry.gl_account, t.CostEntry.source_ref,
               t.CostEntry.amount, t.CostFeed.id, t.CostFeed.file_name, t.CostEntry.row_no)
        .join(t.CostFeed, t.CostFeed.id == t.CostEntry.feed_id)
        .where(t.CostFeed.status == "active", t.CostEntry.month.in_(sorted(months)))
    )
    if exclude_feeds:
        query = query.where(t.CostEntry.feed_id.not_in(exclude_feeds))
    return {tuple(r[:5]): StoredCost(*r[5:]) for r in session.execute(query)}


def insert_entries(session: Session, feed_id: int, lines: list[CostLine]) -> None:
    session.add_all([
        t.CostEntry(feed_id=feed_id, row_no=line.source.row if line.source and line.source.row else 0, month=line.month,
                    scenario=line.scenario, cost_pool=line.cost_pool, gl_account=line.gl_account, amount=line.amount,
                    currency=line.currency, source_ref=line.source_ref, description=line.description or None)
        for line in lines
    ])
    session.flush()


def insert_rejects(session: Session, feed_id: int, problems: list[Problem]) -> None:
    session.add_all([
        t.CostReject(feed_id=feed_id, file_name=path_excerpt(p.source.file, limits.PATH), row_no=p.source.row,
                     column=None if p.source.column is None else excerpt(p.source.column, limits.LABEL - 1),
                     code=p.code.value, message=p.message + (f" ({p.hint})" if p.hint else ""))
        for p in problems
    ])
    session.flush()


def rejects(session: Session) -> list[RejectedRow]:
    """The cost rows active cost feeds refused, in feed and row order."""
    query = (
        select(t.CostReject.file_name, t.CostReject.row_no, t.CostReject.column, t.CostReject.code, t.CostReject.message,
               t.CostReject.feed_id)
        .join(t.CostFeed, t.CostFeed.id == t.CostReject.feed_id)
        .where(t.CostFeed.status == "active")
        .order_by(t.CostReject.feed_id, t.CostReject.row_no)
    )
    return [RejectedRow(file=file, row=row, column=column, code=code, reason=message, feed=feed)
            for file, row, column, code, message, feed in session.execute(query)]


def cost_lines(session: Session, months: list[str] | set[str], scenario: str) -> list[CostLine]:
    """Active cost entries of ``months`` and ``scenario`` as records, with file and row."""
    if not months:
        return []
    rows = session.execute(
        select(t.CostEntry, t.CostFeed.file_name)
        .join(t.CostFeed, t.CostFeed.id == t.CostEntry.feed_id)
        .where(t.CostFeed.status == "active", t.CostEntry.month.in_(sorted(set(months))), t.CostEntry.scenario == scenario)
        .order_by(t.CostEntry.month, t.CostEntry.feed_id, t.CostEntry.row_no)
    )
    return [
        CostLine(month=e.month, scenario=e.scenario, cost_pool=e.cost_pool, gl_account=e.gl_account, amount=e.amount,
                 currency=e.currency, source_ref=e.source_ref, description=e.description or "",
                 source=SourceRef(file=file, row=e.row_no))
        for e, file in rows
    ]


def cost_months(session: Session, scenario: str) -> list[str]:
    query = (
        select(t.CostEntry.month).join(t.CostFeed, t.CostFeed.id == t.CostEntry.feed_id)
        .where(t.CostFeed.status == "active", t.CostEntry.scenario == scenario).distinct().order_by(t.CostEntry.month)
    )
    return list(session.scalars(query))


# --- drivers -----------------------------------------------------------------------------------


def save_drivers(session: Session, records: list[DriverRecord]) -> tuple[int, int]:
    """Insert or update each (month, driver, business line); returns (added, updated)."""
    added = updated = 0
    months = {r.month for r in records}
    existing = {
        (row.month, row.driver, row.business_line_code): row
        for row in session.scalars(select(t.DriverValue).where(t.DriverValue.month.in_(sorted(months))))
    } if months else {}
    for record in records:
        row = existing.get((record.month, record.driver, record.business_line))
        file = record.source.file if record.source else ""
        row_no = record.source.row if record.source and record.source.row else 0
        if row is None:
            session.add(t.DriverValue(month=record.month, driver=record.driver, business_line_code=record.business_line,
                                      value=record.value, file_name=file, row_no=row_no))
            added += 1
        elif row.value != record.value or row.file_name != file or row.row_no != row_no:
            row.value, row.file_name, row.row_no = record.value, file, row_no
            updated += 1
    session.flush()
    return added, updated


def driver_values(session: Session, month: str) -> dict[str, dict[str, Decimal]]:
    """driver → business line → value for ``month``."""
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in session.scalars(select(t.DriverValue).where(t.DriverValue.month == month).order_by(t.DriverValue.id)):
        found[row.driver][row.business_line_code] = row.value
    return dict(found)


def driver_summary(session: Session) -> list[tuple[str, str, int, Decimal]]:
    """(month, driver, business lines, total) for every loaded month and driver."""
    rows: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for row in session.scalars(select(t.DriverValue)):
        rows[(row.month, row.driver)].append(row.value)
    return [(m, d, len(v), sum(v, ZERO)) for (m, d), v in sorted(rows.items())]
