"""Usage feeds, their rows, daily sums and rejects in the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from billing.money import ZERO
from billing.problems import Problem
from billing.store import schema as t
from billing.store.bulk import bulk_insert, frame_for_store

ROW_COLUMNS = (
    "feed_id", "source", "month", "row_no", "record_id", "usage_date", "business_line_id", "cost_center_id",
    "service_code", "tier_code", "unit", "quantity", "cost", "description", "note",
)
DAILY_COLUMNS = (
    "feed_id", "month", "usage_date", "business_line_id", "cost_center_id", "service_code", "tier_code",
    "quantity", "cost", "row_count",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedInfo:
    id: int
    source: str
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
    quantity_total: Decimal
    cost_total: Decimal


def _info(row: t.UsageFeed) -> FeedInfo:
    return FeedInfo(
        id=row.id, source=row.source, file_name=row.file_name, content_hash=row.content_hash,
        months=tuple(m for m in row.months.split(",") if m), status=row.status, loaded_at=row.loaded_at,
        loaded_by=row.loaded_by, rows_read=row.rows_read, rows_loaded=row.rows_loaded,
        rows_rejected=row.rows_rejected, rows_duplicate=row.rows_duplicate,
        quantity_total=row.quantity_total, cost_total=row.cost_total,
    )


def feed_with_hash(session: Session, source: str, digest: str) -> FeedInfo | None:
    row = session.scalar(
        select(t.UsageFeed).where(t.UsageFeed.source == source, t.UsageFeed.content_hash == digest, t.UsageFeed.status == "active")
    )
    return _info(row) if row else None


def feeds(session: Session, *, month: str | None = None) -> list[FeedInfo]:
    rows = session.scalars(select(t.UsageFeed).order_by(t.UsageFeed.id))
    found = [_info(r) for r in rows]
    return [f for f in found if month is None or month in f.months]


def active_feeds_for(session: Session, source: str, months: set[str]) -> list[FeedInfo]:
    rows = session.scalars(select(t.UsageFeed).where(t.UsageFeed.source == source, t.UsageFeed.status == "active"))
    return [i for i in map(_info, rows) if months & set(i.months)]


def record_ids(session: Session, source: str, month: str, *, exclude_feeds: set[int] = frozenset()) -> set[str]:
    """Record ids already loaded for ``source`` and ``month`` by active feeds."""
    query = (
        select(t.UsageRow.record_id)
        .join(t.UsageFeed, t.UsageFeed.id == t.UsageRow.feed_id)
        .where(t.UsageRow.source == source, t.UsageRow.month == month, t.UsageFeed.status == "active")
    )
    if exclude_feeds:
        query = query.where(t.UsageRow.feed_id.not_in(exclude_feeds))
    return set(session.scalars(query))


def create_feed(session: Session, *, source: str, file_name: str, digest: str, format: str, user: str, at: dt.datetime) -> int:
    feed = t.UsageFeed(
        source=source, file_name=file_name, content_hash=digest, format=format, months="", status="active",
        loaded_at=at, loaded_by=user, rows_read=0, rows_loaded=0, rows_rejected=0, rows_duplicate=0,
        quantity_total=ZERO, cost_total=ZERO,
    )
    session.add(feed)
    session.flush()
    return feed.id


def finish_feed(session: Session, feed_id: int, *, months: list[str], rows_read: int, rows_loaded: int,
                rows_rejected: int, rows_duplicate: int, quantity_total: Decimal, cost_total: Decimal) -> None:
    feed = session.get(t.UsageFeed, feed_id)
    feed.months = ",".join(sorted(months))
    feed.rows_read, feed.rows_loaded, feed.rows_rejected, feed.rows_duplicate = rows_read, rows_loaded, rows_rejected, rows_duplicate
    feed.quantity_total, feed.cost_total = quantity_total, cost_total
    session.flush()


def mark_replaced(session: Session, old_ids: list[int], new_id: int) -> None:
    if old_ids:
        session.execute(update(t.UsageFeed).where(t.UsageFeed.id.in_(old_ids)).values(status="replaced", replaced_by_id=new_id))


def insert_rows(session: Session, feed_id: int, source: str, rows: pl.DataFrame) -> int:
    """Insert accepted rows: the frame has business_line_id and cost_center_id resolved."""
    frame = rows.with_columns(
        pl.lit(feed_id).alias("feed_id"),
        pl.lit(source).alias("source"),
        pl.col("usage_date").dt.strftime("%Y-%m").alias("month"),
        pl.col("service").alias("service_code"),
        pl.col("tier").alias("tier_code"),
    )
    frame = frame_for_store(frame, decimals=("quantity", "cost"), dates=("usage_date",)).select(ROW_COLUMNS)
    return bulk_insert(session, "usage_row", ROW_COLUMNS, frame.iter_rows())


def insert_daily(session: Session, feed_id: int, daily: pl.DataFrame) -> int:
    frame = daily.with_columns(
        pl.lit(feed_id).alias("feed_id"),
        pl.col("usage_date").dt.strftime("%Y-%m").alias("month"),
        pl.col("service").alias("service_code"),
        pl.col("tier").alias("tier_code"),
        pl.col("rows").alias("row_count"),
        pl.col("cost").fill_null(0),
    )
    frame = frame_for_store(frame, decimals=("quantity", "cost"), dates=("usage_date",)).select(DAILY_COLUMNS)
    return bulk_insert(session, "usage_daily", DAILY_COLUMNS, frame.iter_rows())


def insert_rejects(session: Session, feed_id: int, problems: list[Problem]) -> None:
    rows = [
        (feed_id, None, p.source.file, p.source.row, p.source.column, p.code.value,
         p.message + (f" ({p.hint})" if p.hint else ""))
        for p in problems
    ]
    bulk_insert(session, "usage_reject", ("feed_id", "month", "file_name", "row_no", "column", "code", "message"), rows)


def month_usage(session: Session, month: str) -> pl.DataFrame:
    """Daily usage of ``month`` from active feeds, in billing.rating.USAGE_SCHEMA.

    Read with one plain query and typed by polars (quantities arrive as text on SQLite and
    as NUMERIC on PostgreSQL, both exact), not row by row through the ORM.
    """
    from billing.rating import USAGE_SCHEMA

    query = text(
        "SELECT d.usage_date, b.code, c.code, d.service_code, d.tier_code, d.quantity, d.cost, d.row_count "
        "FROM usage_daily d JOIN usage_feed f ON f.id = d.feed_id "
        "JOIN business_line b ON b.id = d.business_line_id LEFT JOIN cost_center c ON c.id = d.cost_center_id "
        "WHERE d.month = :month AND f.status = 'active'"
    )
    records = session.execute(query, {"month": month}).all()
    raw = {
        "usage_date": pl.String if session.connection().dialect.name == "sqlite" else pl.Date,
        "business_line": pl.String, "cost_center": pl.String, "service": pl.String, "tier": pl.String,
        "quantity": pl.String, "cost": pl.String, "rows": pl.Int64,
    }
    if session.connection().dialect.name != "sqlite":
        records = [(d, b, c, s, t, str(q), str(k), n) for d, b, c, s, t, q, k, n in records]
    frame = pl.DataFrame(records, schema=raw, orient="row")
    if raw["usage_date"] == pl.String:
        frame = frame.with_columns(pl.col("usage_date").str.to_date("%Y-%m-%d"))
    return frame.cast(USAGE_SCHEMA)


def usage_rows_for(session: Session, month: str, business_line: str, service: str, *, limit: int = 50) -> tuple[int, list[tuple]]:
    """Accepted usage rows behind a charge: (count, first ``limit`` rows with their feed and row number)."""
    bl_id = session.scalar(select(t.BusinessLine.id).where(t.BusinessLine.code == business_line))
    base = (
        select(t.UsageFeed.file_name, t.UsageRow.row_no, t.UsageRow.record_id, t.UsageRow.usage_date,
               t.CostCenter.code, t.UsageRow.tier_code, t.UsageRow.quantity, t.UsageRow.cost, t.UsageRow.description)
        .join(t.UsageFeed, t.UsageFeed.id == t.UsageRow.feed_id)
        .outerjoin(t.CostCenter, t.CostCenter.id == t.UsageRow.cost_center_id)
        .where(t.UsageRow.month == month, t.UsageRow.business_line_id == bl_id, t.UsageRow.service_code == service,
               t.UsageFeed.status == "active")
    )
    count = session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.execute(base.order_by(t.UsageRow.feed_id, t.UsageRow.row_no).limit(limit)).all()
    return count, [tuple(r) for r in rows]


def rejects(session: Session, *, month: str | None = None) -> list[tuple]:
    query = (
        select(t.UsageReject.file_name, t.UsageReject.row_no, t.UsageReject.column, t.UsageReject.code,
               t.UsageReject.message, t.UsageReject.month, t.UsageFeed.source, t.UsageFeed.id)
        .join(t.UsageFeed, t.UsageFeed.id == t.UsageReject.feed_id)
        .where(t.UsageFeed.status == "active")
        .order_by(t.UsageReject.feed_id, t.UsageReject.row_no)
    )
    if month:
        query = query.where(t.UsageFeed.months.contains(month))
    return [tuple(r) for r in session.execute(query)]


def months_with_usage(session: Session) -> list[str]:
    query = (
        select(t.UsageDaily.month).join(t.UsageFeed, t.UsageFeed.id == t.UsageDaily.feed_id)
        .where(t.UsageFeed.status == "active").distinct().order_by(t.UsageDaily.month)
    )
    return list(session.scalars(query))
