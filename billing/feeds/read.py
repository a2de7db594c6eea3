"""Reading a usage export: the one entry point, :func:`read_usage`.

It opens the file (CSV or .xlsx), matches the header for the source's format, then streams
batches of at most ``batch_rows`` records: each batch is validated and mapped with
vectorised rules and comes back as a :class:`UsageBatch` of good rows plus the problems of
the others. Nothing is lost: every record read is a good row, a rejected row (ERROR
problem), a duplicate (DUPLICATE problem) or an excluded row (EXCLUDED warning), and
:func:`~billing.feeds.reconcile.reconcile` adds the batches' tallies up to prove it.

No I/O besides reading the file; no database. Memory is bounded by the batch size plus 16
bytes per distinct record id seen so far in the file (a 64-bit hash and the row number,
needed to find duplicates within it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl

from billing.feeds.context import MappingContext
from billing.feeds.focus import FocusMapping
from billing.feeds.raw import open_table
from billing.feeds.reconcile import Reconciliation
from billing.feeds.rows import empty_rows, select_rows
from billing.feeds.sources import FeedFormat, SourceDefinition, check_source
from billing.feeds.usage_format import UsageMapping
from billing.problems import Problem, ProblemCode, Severity, SourceRef

__all__ = ["UsageBatch", "read_usage", "file_digest"]

_CHUNK = 1 << 20
_HASH_SEED = 0x5EED_F00D  # fixed: record id hashes are compared across batches of one file


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageBatch:
    """Good rows (:data:`~billing.feeds.rows.ROW_SCHEMA`) and the problems of one batch.

    ``rows_read`` counts the data records of the batch (blank lines are in ``tally``).
    """

    rows: pl.DataFrame
    problems: tuple[Problem, ...]
    rows_read: int
    tally: Reconciliation = field(default_factory=Reconciliation)


def read_usage(
    path: Path,
    source: SourceDefinition,
    ctx: MappingContext,
    *,
    batch_rows: int = 1_000_000,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[UsageBatch]:
    """Validate and map ``path`` with ``source``, yielding one :class:`UsageBatch` per batch.

    Problems about the file as a whole (unreadable, empty, header missing, a source that
    names unknown codes) come in the first batch; when they mean nothing can be read, that
    batch is the only one and has no rows. ``on_progress`` gets the running count of
    records read after each batch.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    path = Path(path)
    problems = check_source(source, ctx)
    if _has_error(problems):
        yield _only(problems, complete=False)
        return
    table, found = open_table(path, sheet=source.sheet)
    problems += found
    if table is None:
        yield _only(problems, complete=False)
        return
    prepare = UsageMapping.prepare if source.format is FeedFormat.USAGE else FocusMapping.prepare
    mapping, found = prepare(table, source, ctx)
    problems += found
    if mapping is None:
        yield _only(problems, complete=False)
        return
    def recall(rows: set[int]) -> dict[int, str]:
        """The record ids of earlier ``rows``, read again from the file (only when a hash repeats)."""
        wanted = pl.Series(sorted(rows), dtype=pl.Int64)
        last = wanted[-1]
        found: dict[int, str] = {}
        for again in table.batches(batch_rows):
            part = again.frame.filter(pl.col("row_no").is_in(wanted.implode()))
            if part.height:
                found.update(mapping.check(part).frame.select("row_no", "key").iter_rows())
            if again.frame.height and again.frame.get_column("row_no")[-1] >= last:
                break
        return found

    seen = _FirstSeen(file=table.file, column=mapping.id_header, recall=recall)
    pending = problems  # file-level warnings go out with the first batch
    read = 0
    broken = False
    for raw in table.batches(batch_rows):
        batch = _batch(raw.frame, mapping, seen, pending, raw.problems, raw.blank_rows)
        pending = []
        read += batch.rows_read
        broken = broken or bool(raw.problems)
        yield batch
        if on_progress is not None:
            on_progress(read)
    if read == 0 and not broken:
        yield _only([*pending, Problem(
            code=ProblemCode.FILE_EMPTY, severity=Severity.WARNING, message="the file has a header but no data rows",
            source=SourceRef(file=table.file))])


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _batch(raw: pl.DataFrame, mapping: UsageMapping | FocusMapping, seen: _FirstSeen, pending: list[Problem],
           broken: tuple[Problem, ...], blank_rows: int) -> UsageBatch:
    checked = mapping.check(raw)
    frame = checked.frame
    duplicate, duplicate_problems = seen.check(frame)
    frame = frame.with_columns(duplicate.alias("duplicate"))
    status = frame.select(
        pl.col("duplicate").alias("d"),
        (~pl.col("duplicate") & pl.col("error")).alias("r"),
        (~pl.col("duplicate") & ~pl.col("error") & pl.col("excluded")).alias("x"),
        (~pl.col("duplicate") & ~pl.col("error") & ~pl.col("excluded")).alias("g"),
    )
    good = frame.filter(status.get_column("g"))
    rows = select_rows(mapping.finish(good))
    tally = Reconciliation(
        rows_read=frame.height,
        good=good.height,
        rejected=int(status.get_column("r").sum()),
        duplicates=int(status.get_column("d").sum()),
        excluded=int(status.get_column("x").sum()),
        rows_loaded=rows.height,
        blank_rows=blank_rows,
        quantity_read=_sum(frame, "quantity_read"),
        quantity_loaded=_sum(rows, "quantity"),
        cost_read=_sum(frame, "cost_read"),
        cost_loaded=_sum(rows, "cost"),
        complete=not broken,
    )
    found = sorted([*checked.problems, *duplicate_problems], key=lambda p: p.source.row or 0)
    return UsageBatch(rows=rows, problems=(*pending, *found, *broken), rows_read=frame.height, tally=tally)


class _FirstSeen:
    """Record ids met so far in one file: the first occurrence wins, later ones are duplicates.

    Earlier batches are kept as (64-bit hash, first row) pairs. A hash met again is checked
    exactly: within a batch by comparing the ids, against an earlier batch by reading that
    row's id again through ``recall``; a hash collision is therefore never a duplicate.
    """

    def __init__(self, *, file: str, column: str | None, recall: Callable[[set[int]], dict[int, str]]):
        self.file = file
        self.column = column
        self.recall = recall
        self.parts: list[pl.DataFrame] = []  # "_h" (UInt64), "_earlier" (Int64)

    def check(self, frame: pl.DataFrame) -> tuple[pl.Series, list[Problem]]:
        key = pl.col("key")
        ids = frame.select("row_no", "key").with_columns(
            pl.when(key.is_not_null()).then(key.hash(_HASH_SEED)).alias("_h")
        )
        ids = ids.with_columns(_first_in_batch(ids))
        ids = ids.with_columns(self._earlier(ids))
        ids = ids.with_columns(pl.coalesce("_earlier", "_first").alias("_original"))
        duplicate = ids.select(
            (key.is_not_null() & (pl.col("_original") < pl.col("row_no"))).alias("duplicate")
        ).to_series()
        self.parts.append(
            ids.filter(key.is_not_null() & pl.col("_earlier").is_null() & (pl.col("_first") == pl.col("row_no")))
            .select("_h", pl.col("row_no").alias("_earlier"))
        )
        if len(self.parts) > 8:
            self.parts = [pl.concat(self.parts)]
        problems = [
            Problem(
                code=ProblemCode.DUPLICATE,
                message=f"record id {key!r} already appears on row {original}; this row is not loaded",
                source=SourceRef(file=self.file, row=row_no, column=self.column),
                hint="a record is loaded once; remove the repeated row or give it its own id",
            )
            for row_no, key, original in ids.filter(duplicate).select("row_no", "key", "_original").iter_rows()
        ]
        return duplicate, problems

    def _earlier(self, ids: pl.DataFrame) -> pl.Series:
        """First row of each id in earlier batches (null if none), hash hits confirmed by the id."""
        earlier = pl.Series("_earlier", [None] * ids.height, dtype=pl.Int64)
        if not self.parts:
            return earlier
        if len(self.parts) > 1:
            self.parts = [pl.concat(self.parts)]
        hits = (
            ids.with_row_index("_at").filter(pl.col("_h").is_in(self.parts[0].get_column("_h").implode()))
            .join(self.parts[0], on="_h", how="inner")
        )
        if hits.height == 0:
            return earlier
        known = self.recall(set(hits.get_column("_earlier").to_list()))
        same = hits.filter(
            pl.col("key") == pl.col("_earlier").replace_strict(known, default=None, return_dtype=pl.String)
        )
        return earlier.scatter(same.get_column("_at"), same.get_column("_earlier"))


def _first_in_batch(ids: pl.DataFrame) -> pl.Series:
    """First row of each row's id within the batch: by hash, then by the ids where a hash repeats."""
    first = ids.select(pl.col("row_no").min().over("_h").alias("_first")).to_series()
    repeated = ids.select(pl.col("_h").is_not_null() & (first < pl.col("row_no"))).to_series()
    if not repeated.any():
        return first
    hashes = ids.filter(repeated).get_column("_h").unique().implode()
    shared = ids.with_columns(first).with_row_index("_at").filter(pl.col("_h").is_in(hashes))
    exact = shared.select("_at", pl.col("row_no").min().over("key").alias("_first"))
    return first.scatter(exact.get_column("_at"), exact.get_column("_first"))


def _only(problems: list[Problem], *, complete: bool = True) -> UsageBatch:
    return UsageBatch(rows=empty_rows(), problems=tuple(problems), rows_read=0,
                      tally=Reconciliation(complete=complete))


def _has_error(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


def _sum(frame: pl.DataFrame, column: str) -> Decimal:
    value = frame.get_column(column).sum() if frame.height else None
    return Decimal(value) if value is not None else Decimal(0)
