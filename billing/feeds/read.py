"""Reading a usage export: the one entry point, :func:`read_usage`.

It opens the file (CSV or .xlsx), matches the header for the source's format, then streams
batches of at most ``batch_rows`` records: each batch is validated and mapped with
vectorised rules and comes back as a :class:`UsageBatch` of good rows plus the problems of
the others. Nothing is lost: every record read is a good row, a rejected row (ERROR
problem), a duplicate (DUPLICATE problem), a conflict (CONFLICT problem: its id came earlier
with other content) or an excluded row (EXCLUDED warning), and
:func:`~billing.feeds.reconcile.reconcile` adds the batches' tallies up to prove it.

No I/O besides reading the file; no database. Memory is bounded by a few batches plus about
20 bytes per distinct record id seen so far in the file (a 64-bit hash and its first row, and
a bitmap, needed to find duplicates within it: billing.feeds.first_seen).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import polars as pl

from billing.files.dialect import Dialect
from billing.feeds.context import MappingContext
from billing.feeds.first_seen import FirstSeen
from billing.feeds.focus import FocusMapping
from billing.feeds.raw import FileScan, RawBatch, open_table
from billing.feeds.raw import digest as file_digest
from billing.feeds.reconcile import Reconciliation
from billing.feeds.rows import Checked, empty_rows, row_schema, select_rows
from billing.feeds.sources import FeedFormat, SourceDefinition, check_source
from billing.feeds.usage_format import UsageMapping
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef

__all__ = ["UsageBatch", "read_usage", "file_digest"]

T = TypeVar("T")
_AHEAD = 1  # batches checked ahead of the one being finished


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageBatch:
    """Good rows (:func:`~billing.feeds.rows.row_schema`) and the problems of one batch.

    ``rows_read`` counts the data records of the batch (blank lines are in ``tally``).
    ``refused`` is true for the one batch of a file that cannot be read at all: its problems
    say why, and nothing of the file may be stored. ``feed_kind`` says what the file is (e.g.
    ``FOCUS 1.2 (it has InvoiceId, …)``) on the first batch of a FOCUS file; empty otherwise.
    """

    rows: pl.DataFrame
    problems: tuple[Problem, ...]
    rows_read: int
    tally: Reconciliation = field(default_factory=Reconciliation)
    refused: bool = False
    feed_kind: str = ""
    id_column: str | None = None  # the record id column as the file names it


def read_usage(
    path: Path,
    source: SourceDefinition,
    ctx: MappingContext,
    *,
    batch_rows: int = 1_000_000,
    on_progress: Callable[[int], None] | None = None,
    scan: FileScan | None = None,
    dialect: Dialect = Dialect(),
) -> Iterator[UsageBatch]:
    """Validate and map ``path`` with ``source``, yielding one :class:`UsageBatch` per batch.

    Problems about the file as a whole (unreadable, empty, header missing or naming a column
    twice, a source that names unknown codes) come in the first batch; when they mean nothing
    can be read, that batch is the only one, has no rows and is ``refused``. ``scan`` (billing.feeds.raw.scan_file), when the
    caller has it, spares a pass over the file. ``on_progress`` gets the running count of
    records read after each batch. ``dialect`` is the CSV delimiter and whether numbers are
    written with a decimal comma.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    path = Path(path)
    schema = row_schema(ctx)
    problems = check_source(source, ctx)
    if _has_error(problems):
        yield _only(problems, schema, refused=True)
        return
    table, found = open_table(path, sheet=source.sheet, scan=scan, dialect=dialect)
    problems += found
    if table is None:
        yield _only(problems, schema, refused=True)
        return
    prepare = UsageMapping.prepare if source.format is FeedFormat.USAGE else FocusMapping.prepare
    mapping, found = prepare(table, source, ctx)
    problems += found
    if mapping is None:
        yield _only(problems, schema, refused=True)
        return
    def recall(rows: set[int]) -> pl.DataFrame:
        """Earlier ``rows`` read and checked again (only when a hash repeats): their ids and content."""
        wanted = pl.Series(sorted(rows), dtype=pl.Int64)
        last = wanted[-1]
        found: list[pl.DataFrame] = []
        for again in table.batches(batch_rows):
            part = again.frame.filter(pl.col("row_no").is_in(wanted.implode()))
            if part.height:
                found.append(mapping.check(part).frame.select("row_no", "key", "error", *mapping.content))
            if again.frame.height and again.frame.get_column("row_no")[-1] >= last:
                break
        return pl.concat(found) if found else pl.DataFrame(schema={"row_no": pl.Int64, "key": pl.String})

    seen = FirstSeen(file=table.file, column=mapping.id_header, recall=recall, content=mapping.content)
    pending = problems  # file-level warnings go out with the first batch
    read = 0
    broken = False

    def check(frame: pl.DataFrame) -> tuple[Checked, pl.DataFrame]:
        checked = mapping.check(frame)
        return checked, seen.ids(checked.frame)

    kind = mapping.version.describe() if isinstance(mapping, FocusMapping) else ""
    for raw, (checked, ids) in _checked_ahead(table.batches(batch_rows), check):
        batch = _batch(checked, ids, mapping, seen, schema, pending, raw.problems, raw.blank_rows)
        if kind:
            batch, kind = dataclasses.replace(batch, feed_kind=kind), ""
        pending = []
        read += batch.rows_read
        broken = broken or bool(raw.problems)
        yield batch
        if on_progress is not None:
            on_progress(read)
    if read == 0 and not broken:
        yield _only([*pending, Problem(
            code=ProblemCode.FILE_EMPTY, severity=Severity.WARNING, message="the file has a header but no data rows",
            source=SourceRef(file=table.file))], schema)


def _checked_ahead(batches: Iterator[RawBatch], check: Callable[[pl.DataFrame], T]) -> Iterator[tuple[RawBatch, T]]:
    """Each batch with its checks, in file order. Reading the next batch and checking it run on
    other threads meanwhile (polars works outside the GIL), so reading, validation and what
    follows them (duplicates, storing) overlap."""
    pool = ThreadPoolExecutor(max_workers=_AHEAD + 1, thread_name_prefix="check")
    queue: deque[tuple[RawBatch, Future[T]]] = deque()
    try:
        reading = pool.submit(next, batches, None)
        while (raw := reading.result()) is not None:
            reading = pool.submit(next, batches, None)  # the next batch is read meanwhile
            queue.append((raw, pool.submit(check, raw.frame)))
            if len(queue) > _AHEAD:
                raw, checked = queue.popleft()
                yield raw, checked.result()
        while queue:
            raw, checked = queue.popleft()
            yield raw, checked.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _batch(checked: Checked, ids: pl.DataFrame, mapping: UsageMapping | FocusMapping, seen: FirstSeen,
           schema: dict[str, pl.DataType], pending: list[Problem], broken: tuple[Problem, ...],
           blank_rows: int) -> UsageBatch:
    frame = checked.frame
    duplicate, conflict, duplicate_problems = seen.check(ids)  # rows with an error are neither
    frame = frame.with_columns(duplicate.alias("duplicate"), conflict.alias("conflict"))
    again = pl.col("duplicate") | pl.col("conflict")
    status = frame.select(
        pl.col("duplicate").alias("d"),
        pl.col("conflict").alias("c"),
        (~again & pl.col("error")).alias("r"),
        (~again & ~pl.col("error") & pl.col("excluded")).alias("x"),
        (~again & ~pl.col("error") & ~pl.col("excluded")).alias("g"),
    )
    good = frame.filter(status.get_column("g"))
    rows = select_rows(mapping.finish(good), schema)
    tally = Reconciliation(
        rows_read=frame.height,
        good=good.height,
        rejected=int(status.get_column("r").sum()),
        duplicates=int(status.get_column("d").sum()),
        conflicts=int(status.get_column("c").sum()),
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
    return UsageBatch(rows=rows, problems=(*pending, *found, *broken), rows_read=frame.height, tally=tally,
                      id_column=mapping.id_header)


def _only(problems: list[Problem], schema: dict[str, pl.DataType], *, refused: bool = False) -> UsageBatch:
    return UsageBatch(rows=empty_rows(schema), problems=tuple(problems), rows_read=0,
                      tally=Reconciliation(complete=not refused), refused=refused)


def _has_error(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


def _sum(frame: pl.DataFrame, column: str) -> Decimal:
    value = frame.get_column(column).sum() if frame.height else None
    return Decimal(value) if value is not None else Decimal(0)
