"""Usage feeds, their rows, daily sums and rejects in the store."""

from __future__ import annotations

import datetime as dt
import io
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from billing.core.records import RejectedRow
from billing.feeds.daily import SUM_KEYS
from billing.feeds.first_seen import HashRows, id_hashes
from billing.feeds.overlap import decode_sample
from billing.feeds.rows import ROW_SCHEMA, select_rows  # a rows part's columns; readers get its codes as text
from billing.core import limits
from billing.core.money import ZERO
from billing.core.periods import first_day, last_day, month_of
from billing.core.problems import Problem, excerpt
from billing.store import schema as t
from billing.store.bulk import bulk_insert


def _to_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=1, statistics=False)
    return buffer.getvalue()


def _from_parquet(data: bytes, columns: list[str] | None = None) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data), columns=columns)


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
    rows_conflict: int = 0


def _info(row: t.UsageFeed) -> FeedInfo:
    return FeedInfo(
        id=row.id, source=row.source, file_name=row.file_name, content_hash=row.content_hash,
        months=tuple(m for m in row.months.split(",") if m), status=row.status, loaded_at=row.loaded_at,
        loaded_by=row.loaded_by, rows_read=row.rows_read, rows_loaded=row.rows_loaded,
        rows_rejected=row.rows_rejected, rows_duplicate=row.rows_duplicate, rows_conflict=row.rows_conflict,
        quantity_total=row.quantity_total, cost_total=row.cost_total,
    )


def feed_with_hash(session: Session, source: str, digest: str) -> FeedInfo | None:
    row = session.scalar(
        select(t.UsageFeed).where(t.UsageFeed.source == source, t.UsageFeed.content_hash == digest, t.UsageFeed.status == "active")
    )
    return _info(row) if row else None


def feed_with_hash_elsewhere(session: Session, source: str, digest: str) -> FeedInfo | None:
    """An active feed of another source with the same content, if any."""
    row = session.scalars(
        select(t.UsageFeed).where(t.UsageFeed.source != source, t.UsageFeed.content_hash == digest,
                                  t.UsageFeed.status == "active").order_by(t.UsageFeed.id)
    ).first()
    return _info(row) if row else None


def samples_elsewhere(session: Session, source: str, month: str) -> list[tuple[FeedInfo, list[str]]]:
    """Active feeds of other sources with usage in ``month``, each with its record-id sample."""
    query = (
        select(t.UsageFeed).where(t.UsageFeed.source != source, t.UsageFeed.status == "active",
                                  t.UsageFeed.months.contains(month), t.UsageFeed.id_sample.is_not(None))
        .order_by(t.UsageFeed.id)
    )
    return [(_info(row), decode_sample(row.id_sample)) for row in session.scalars(query) if month in row.months.split(",")]


def feeds(session: Session, *, month: str | None = None, source: str | None = None) -> list[FeedInfo]:
    query = select(t.UsageFeed).order_by(t.UsageFeed.id)
    if source:
        query = query.where(t.UsageFeed.source == source)
    rows = session.scalars(query)
    found = [_info(r) for r in rows]
    return [f for f in found if month is None or month in f.months]


def active_feeds_for(session: Session, source: str, months: set[str]) -> list[FeedInfo]:
    rows = session.scalars(select(t.UsageFeed).where(t.UsageFeed.source == source, t.UsageFeed.status == "active"))
    return [i for i in map(_info, rows) if months & set(i.months)]


_PLACE = 1 << 32  # a place is part id × _PLACE + offset in the part


class LoadedIds:
    """The record ids that active feeds of ``source`` (other than ``exclude_feeds``) already
    loaded for ``month``, to tell which ids of a new feed are among them.

    The ids are kept as 64-bit hashes with their place (part and offset) in a
    :class:`~billing.feeds.first_seen.HashRows`, about 20 bytes an id rather than the ids
    themselves, so a month of tens of millions of rows fits, and each batch is looked up in
    time proportional to the batch. A hash found is only a candidate: the id at its place is
    read again from its part and compared, so ids that share a hash are never taken for one
    another.
    """

    _PARTS_KEPT = 4  # parts whose ids stay decoded for confirming candidates

    def __init__(self, session: Session, source: str, month: str, *, exclude_feeds: set[int] = frozenset()):
        self.session = session
        self.index = HashRows()
        self._decoded: OrderedDict[int, pl.Series] = OrderedDict()
        self._files: dict[int, tuple[int, str]] = {}  # part -> its feed and the feed's file
        query = (
            select(t.UsagePart.id, t.UsageFeed.id, t.UsageFeed.file_name)
            .join(t.UsageFeed, t.UsageFeed.id == t.UsagePart.feed_id)
            .where(t.UsagePart.source == source, t.UsagePart.month == month, t.UsagePart.kind == "rows",
                   t.UsageFeed.status == "active")
            .order_by(t.UsagePart.id)
        )
        if exclude_feeds:
            query = query.where(t.UsagePart.feed_id.not_in(exclude_feeds))
        for part_id, feed_id, file_name in session.execute(query).all():  # one part's ids in memory at a time
            self._files[part_id] = (feed_id, file_name)
            ids = self._ids(part_id)
            self.index.add(id_hashes(ids), part_id * _PLACE + np.arange(ids.len(), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.index)

    def known(self, ids: pl.Series) -> pl.Series:
        """For each of ``ids`` (no nulls): whether it was loaded already."""
        found = np.zeros(ids.len(), dtype=bool)
        found[self._confirmed(ids).get_column("at").to_numpy()] = True
        return pl.Series("known", found)

    def earlier(self, rows: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
        """The rows of a batch (``record_id`` and ``columns`` of billing.feeds.rows) whose record
        id an earlier feed loaded: ``at`` (their position in ``rows``), ``feed``, ``file`` and
        ``row_no`` of the earlier record, and its ``columns`` (codes as text) suffixed ``_was``.
        Only the parts the ids were found in are read again."""
        hits = self._confirmed(rows.get_column("record_id"))
        schema = {"at": pl.Int64, "feed": pl.Int64, "file": pl.String, "row_no_was": pl.Int64,
                  **{f"{c}_was": _TEXT_CODES.get(c, ROW_SCHEMA[c]) for c in columns}}
        if not hits.height:
            return pl.DataFrame(schema=schema)
        found = []
        for (part,), group in hits.with_columns(part=pl.col("place") // _PLACE).group_by("part"):
            feed, file = self._files[part]
            stored = self._rows(part, ["row_no", *columns]).gather(group.get_column("place") % _PLACE)
            found.append(pl.concat([
                group.select("at"),
                stored.select(pl.lit(feed, dtype=pl.Int64).alias("feed"), pl.lit(file).alias("file"),
                              pl.col("row_no").alias("row_no_was"),
                              *[pl.col(c).cast(_TEXT_CODES.get(c, ROW_SCHEMA[c])).alias(f"{c}_was") for c in columns]),
            ], how="horizontal"))
        return pl.concat(found).sort("at").cast(schema)

    def _confirmed(self, ids: pl.Series) -> pl.DataFrame:
        """``at`` (position in ``ids``) and ``place`` of every id loaded before: hash hits
        confirmed by the id stored at their place."""
        empty = pl.DataFrame(schema={"at": pl.Int64, "place": pl.Int64})
        if not len(self.index) or not ids.len():
            return empty
        at, places = self.index.rows_of(id_hashes(ids))
        if not len(at):
            return empty
        candidates = pl.DataFrame({"at": at.astype(np.int64), "place": places, "id": ids.gather(at)})
        earlier = pl.concat([
            pl.DataFrame({"place": group.get_column("place"),
                          "earlier": self._ids(part).gather(group.get_column("place") % _PLACE)})
            for (part,), group in candidates.with_columns(part=pl.col("place") // _PLACE).group_by("part")
        ])
        same = candidates.join(earlier, on="place").filter(pl.col("earlier") == pl.col("id"))
        return same.select("at", "place").unique("at", keep="first").sort("at")

    def _ids(self, part_id: int) -> pl.Series:
        if part_id in self._decoded:
            self._decoded.move_to_end(part_id)
            return self._decoded[part_id]
        data = self.session.scalar(select(t.UsagePart.data).where(t.UsagePart.id == part_id))
        ids = _from_parquet(data, ["record_id"]).get_column("record_id")
        self._decoded[part_id] = ids
        if len(self._decoded) > self._PARTS_KEPT:
            self._decoded.popitem(last=False)
        return ids

    def _rows(self, part_id: int, columns: list[str]) -> pl.DataFrame:
        """``columns`` of a rows part; one the part was stored without (a dimension value
        before the column existed) is null."""
        data = self.session.scalar(select(t.UsagePart.data).where(t.UsagePart.id == part_id))
        stored = set(pl.read_parquet_schema(io.BytesIO(data)))
        frame = _from_parquet(data, [c for c in columns if c in stored])
        return frame.with_columns(pl.lit(None, dtype=ROW_SCHEMA[c]).alias(c) for c in columns if c not in stored)


_TEXT_CODES = {c: pl.String() for c in ("cost_center", "business_line", "service", "tier", "unit")}
"""Code columns compared as text: the Enum of an earlier load may hold other codes."""


def create_feed(session: Session, *, source: str, file_name: str, digest: str, format: str, user: str, at: dt.datetime) -> int:
    feed = t.UsageFeed(
        source=source, file_name=file_name, content_hash=digest, format=format, months="", status="active",
        loaded_at=at, loaded_by=user, rows_read=0, rows_loaded=0, rows_rejected=0, rows_duplicate=0, rows_conflict=0,
        quantity_total=ZERO, cost_total=ZERO,
    )
    session.add(feed)
    session.flush()
    return feed.id


def finish_feed(session: Session, feed_id: int, *, months: list[str], rows_read: int, rows_loaded: int,
                rows_rejected: int, rows_duplicate: int, quantity_total: Decimal, cost_total: Decimal,
                rows_conflict: int = 0, id_sample: str | None = None) -> None:
    feed = session.get(t.UsageFeed, feed_id)
    feed.id_sample = id_sample
    feed.months = ",".join(sorted(months))
    feed.rows_read, feed.rows_loaded, feed.rows_rejected, feed.rows_duplicate = rows_read, rows_loaded, rows_rejected, rows_duplicate
    feed.rows_conflict = rows_conflict
    feed.quantity_total, feed.cost_total = quantity_total, cost_total
    session.flush()


def mark_replaced(session: Session, old_ids: list[int], new_id: int) -> None:
    if old_ids:
        session.execute(update(t.UsageFeed).where(t.UsageFeed.id.in_(old_ids)).values(status="replaced", replaced_by_id=new_id))


def month_parts(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """``frame`` split by the month of its ``usage_date``, in month order (no text per row:
    the months come from the distinct days)."""
    days = frame.get_column("usage_date").unique().drop_nulls().to_list()
    months = sorted({month_of(day) for day in days})
    if len(months) <= 1:
        return [(month, frame) for month in months]
    return [(m, frame.filter(pl.col("usage_date").is_between(first_day(m), last_day(m)))) for m in months]


def encode_rows(parts: list[tuple[str, pl.DataFrame]]) -> list[tuple[str, int, bytes]]:
    """Accepted rows (billing.feeds' row frame) split by month (:func:`month_parts`) as Parquet:
    (month, rows, bytes) a month. Code columns keep their Enum dtype, so Parquet writes each
    code once per part. Pure, so it can run on another thread while the next batch loads."""
    encoded = []
    for month, part in parts:
        frame = part.select(list(ROW_SCHEMA))
        encoded.append((month, frame.height, _to_parquet(frame)))
    return encoded


def insert_rows(session: Session, feed_id: int, source: str, parts: list[tuple[str, int, bytes]], *, part_no: int) -> int:
    """Store the parts :func:`encode_rows` made of one batch; returns the rows stored."""
    for month, count, data in parts:
        session.add(t.UsagePart(feed_id=feed_id, source=source, month=month, kind="rows", part_no=part_no,
                                row_count=count, data=data))
    session.flush()
    return sum(count for _, count, _ in parts)


def insert_daily(session: Session, feed_id: int, source: str, daily: pl.DataFrame) -> None:
    """Store a feed's daily sums (billing.rating.month.DAILY_SCHEMA, with the dimension value),
    one part per month."""
    frame = _daily_frame(daily)
    for month, part in month_parts(frame):
        part = part.sort(list(SUM_KEYS), nulls_last=True)
        session.add(t.UsagePart(feed_id=feed_id, source=source, month=month, kind="daily", part_no=0,
                                row_count=part.height, data=_to_parquet(part)))
    session.flush()


def insert_rejects(session: Session, feed_id: int, problems: list[Problem]) -> None:
    rows = [  # the file and column are labels of where: cut to the store's lengths (a header can be megabytes)
        (feed_id, None, _label(p.source.file, limits.PATH), p.source.row, _label(p.source.column, limits.LABEL),
         p.code.value, p.message + (f" ({p.hint})" if p.hint else ""))
        for p in problems
    ]
    bulk_insert(session, "usage_reject", ("feed_id", "month", "file_name", "row_no", "column", "code", "message"), rows)


def _label(text: str | None, length: int) -> str | None:
    """A place's label cut to ``length`` characters, ``…`` marking the cut."""
    return None if text is None else excerpt(text, length - 1)


def _parts(session: Session, month: str, kind: str) -> list[tuple[int, bytes]]:
    query = (
        select(t.UsagePart.feed_id, t.UsagePart.data)
        .join(t.UsageFeed, t.UsageFeed.id == t.UsagePart.feed_id)
        .where(t.UsagePart.month == month, t.UsagePart.kind == kind, t.UsageFeed.status == "active")
        .order_by(t.UsagePart.feed_id, t.UsagePart.part_no, t.UsagePart.id)
    )
    return [(feed_id, data) for feed_id, data in session.execute(query)]


def _daily_frame(daily: pl.DataFrame) -> pl.DataFrame:
    """Daily sums in billing.rating.month.DAILY_SCHEMA; sums stored before the dimension value
    existed have none (null)."""
    from billing.rating.month import DAILY_SCHEMA

    if "dimension_value" not in daily.columns:
        daily = daily.with_columns(pl.lit(None, dtype=pl.String).alias("dimension_value"))
    return daily.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA)


def month_usage(session: Session, month: str, *, with_feeds: bool = False) -> pl.DataFrame:
    """Daily usage of ``month`` from active feeds, in billing.rating.month.DAILY_SCHEMA (with
    ``with_feeds``, each sum's ``feed_id`` too)."""
    from billing.rating.month import DAILY_SCHEMA

    frames = [_daily_frame(_from_parquet(data)).with_columns(pl.lit(feed_id, dtype=pl.Int64).alias("feed_id"))
              if with_feeds else _daily_frame(_from_parquet(data))
              for feed_id, data in _parts(session, month, "daily")]
    if not frames:
        return pl.DataFrame(schema=DAILY_SCHEMA | ({"feed_id": pl.Int64} if with_feeds else {}))
    return pl.concat(frames)


def active_feed_ids(session: Session, month: str) -> list[int]:
    query = (
        select(t.UsagePart.feed_id).join(t.UsageFeed, t.UsageFeed.id == t.UsagePart.feed_id)
        .where(t.UsagePart.month == month, t.UsagePart.kind == "daily", t.UsageFeed.status == "active").distinct()
    )
    return sorted(session.scalars(query))


def usage_rows_for(session: Session, month: str, business_line: str, service: str, *, limit: int = 50,
                   dimension_value: str | None = None, offset: int = 0) -> tuple[int, list[tuple]]:
    """Accepted usage rows behind a charge: (count, ``limit`` rows from the ``offset``-th on, with
    their file and row number); a charge pricing a dimension value: the rows with that value,
    whatever its case."""
    count, rows, _days = usage_trace_for(session, month, business_line, service, limit=limit,
                                         dimension_value=dimension_value, offset=offset)
    return count, rows


def usage_trace_for(session: Session, month: str, business_line: str, service: str, *, limit: int = 50,
                    dimension_value: str | None = None, offset: int = 0) -> tuple[int, list[tuple], list[tuple]]:
    """:func:`usage_rows_for`, and every day of those rows: (day, rows, quantity), in day order."""
    files = dict(session.execute(select(t.UsageFeed.id, t.UsageFeed.file_name)).all())
    found: list[pl.DataFrame] = []
    for feed_id, data in _parts(session, month, "rows"):
        part = select_rows(_from_parquet(data), ROW_SCHEMA)  # parts stored before a column existed read it as null
        part = part.filter((pl.col("business_line") == business_line) & (pl.col("service") == service))
        if dimension_value is not None:
            part = part.filter(pl.col("dimension_value").str.strip_chars().str.to_lowercase()
                               == dimension_value.strip().casefold())
        if part.height:
            found.append(part.with_columns(pl.lit(files[feed_id]).alias("file"), pl.lit(feed_id).alias("feed")))
    if not found:
        return 0, [], []
    rows = pl.concat(found).sort(["feed", "row_no"])
    columns = ["file", "row_no", "record_id", "usage_date", "cost_center", "tier", "quantity", "cost", "description",
               "note", "invoice_id", "dimension_value"]
    days = (rows.group_by("usage_date").agg(pl.len().alias("rows"), pl.col("quantity").sum().alias("quantity"))
            .sort("usage_date"))
    return rows.height, list(rows.slice(offset, limit).select(columns).iter_rows()), list(days.iter_rows())


def rejects(session: Session, *, month: str | None = None, source: str | None = None,
            feed: int | None = None) -> list[RejectedRow]:
    """The rows active feeds refused (of a month, a source or a feed), in feed and row order."""
    query = (
        select(t.UsageReject.file_name, t.UsageReject.row_no, t.UsageReject.column, t.UsageReject.code,
               t.UsageReject.message, t.UsageReject.month, t.UsageFeed.source, t.UsageFeed.id)
        .join(t.UsageFeed, t.UsageFeed.id == t.UsageReject.feed_id)
        .where(t.UsageFeed.status == "active")
        .order_by(t.UsageReject.feed_id, t.UsageReject.row_no)
    )
    if month:
        query = query.where(t.UsageFeed.months.contains(month))
    if source:
        query = query.where(t.UsageFeed.source == source)
    if feed is not None:
        query = query.where(t.UsageFeed.id == feed)
    return [RejectedRow(file=file, row=row, column=column, code=code, reason=message, month=months, source=source_name,
                        feed=feed_id)
            for file, row, column, code, message, months, source_name, feed_id in session.execute(query)]


def rows_by_source_month(session: Session) -> dict[tuple[str, str], int]:
    """Usage rows stored by active feeds, per (source, month)."""
    query = (
        select(t.UsagePart.source, t.UsagePart.month, func.sum(t.UsagePart.row_count))
        .join(t.UsageFeed, t.UsageFeed.id == t.UsagePart.feed_id)
        .where(t.UsageFeed.status == "active", t.UsagePart.kind == "rows")
        .group_by(t.UsagePart.source, t.UsagePart.month)
    )
    return {(source, month): int(count or 0) for source, month, count in session.execute(query)}


def months_with_usage(session: Session) -> list[str]:
    query = select(t.UsagePart.month).join(t.UsageFeed, t.UsageFeed.id == t.UsagePart.feed_id).where(
        t.UsageFeed.status == "active", t.UsagePart.kind == "daily").distinct().order_by(t.UsagePart.month)
    return list(session.scalars(query))
