"""Load a usage feed: stream, validate, map, de-duplicate, store, reconcile.

The whole load is one transaction: a failure or an interrupt leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from billing.files.dialect import Dialect
from billing.feeds.context import UNALLOCATED, MappingContext
from billing.feeds.daily import SUM_KEYS, DailySums
from billing.feeds.raw import FileScan, scan_file
from billing.feeds.read import UsageBatch, read_usage
from billing.feeds.resent import against_earlier
from billing.feeds.rows import CONTENT
from billing.feeds.overlap import IdSample
from billing.feeds.sources import SourceDefinition
from billing.jobs.usage_sources import DEFAULT_SOURCES, resolve_source  # noqa: F401  (re-exported)
from billing.core.limits import FEED_TOTAL, USAGE_FEED_MONTHS, months_that_fit, path_problem
from billing.core.money import ZERO, exact_sum, plain
from billing.core.problems import Ask, Asked, ChargebackError, NeedsConfirmation, Problem, ProblemCode, ProblemsError, errors, excerpt
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import locks
from billing.store import org as org_store
from billing.store import usage as usage_store
from billing.store.org import UNALLOCATED_NAME

@dataclass(slots=True)
class LoadResult:
    feed_id: int | None
    source: str
    file_name: str
    already_loaded_as: int | None = None
    rows_read: int = 0  # input records (header and blank lines excluded)
    rows_loaded: int = 0  # input records loaded
    rows_rejected: int = 0  # input records quarantined
    rows_duplicate: int = 0  # input records skipped: repeated in the file or loaded by an earlier feed, the same
    rows_conflict: int = 0  # input records quarantined: their id came earlier (in the file or a feed) with other values
    rows_excluded: int = 0  # input records a source rule leaves out (e.g. tax rows)
    usage_rows: int = 0  # rows stored (a split record becomes several)
    quantity_read: Decimal = ZERO
    cost_read: Decimal = ZERO
    quantity_loaded: Decimal = ZERO
    cost_loaded: Decimal = ZERO
    months: list[str] = field(default_factory=list)
    replaced_feeds: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first PROBLEMS_KEPT, for printing
    problem_count: int = 0
    rated_months: list[str] = field(default_factory=list)
    feed_kind: str = ""  # e.g. "FOCUS 1.2 (it has InvoiceId, …)"
    provider_invoices: dict[str, Decimal] = field(default_factory=dict)  # InvoiceId -> cost loaded ("" = none)

    def reconciliation(self) -> str:
        conflicts = f" + conflicts quarantined {self.rows_conflict:,}" if self.rows_conflict else ""
        excluded = f" + excluded {self.rows_excluded:,}" if self.rows_excluded else ""
        split = f" (stored as {self.usage_rows:,} usage rows after splits)" if self.usage_rows != self.rows_loaded else ""
        balanced = self.rows_read == (self.rows_loaded + self.rows_rejected + self.rows_duplicate + self.rows_conflict
                                      + self.rows_excluded)
        return (
            f"rows read {self.rows_read:,} = loaded {self.rows_loaded:,}{split} + quarantined {self.rows_rejected:,} "
            f"+ duplicates skipped {self.rows_duplicate:,}{conflicts}{excluded}{'' if balanced else ' (DOES NOT BALANCE)'}; "
            f"quantity read {_total(self.quantity_read)}, loaded {_total(self.quantity_loaded)}; "
            f"cost read {_total(self.cost_read)}, loaded {_total(self.cost_loaded)}"
        )


def _total(value: Decimal) -> str:
    return plain(value, grouped=True)


PROBLEMS_KEPT = 1000
FILE_LEVEL = frozenset({ProblemCode.FILE_UNREADABLE, ProblemCode.FILE_EMPTY, ProblemCode.HEADER_MISSING,
                        ProblemCode.REPEATED_COLUMN, ProblemCode.WRONG_DELIMITER, ProblemCode.RECORD_TOO_LONG})


def mapping_context(session: Session, *, today: dt.date | None = None, loading: bool = True) -> MappingContext:
    """What rows are mapped against. A load (``loading``, under its lock) creates the
    unallocated business line it parks rows on; a command that only reads (``sources
    inspect``) writes nothing and counts it as known."""
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    if loading:
        org_store.ensure_business_line(session, UNALLOCATED, UNALLOCATED_NAME)
    today = today or dt.date.today()
    return MappingContext(
        catalogue=catalogue,
        business_lines=frozenset(org_store.business_line_ids(session)) | {UNALLOCATED},
        cost_centers=tuple(org_store.ownerships(session)),
        earliest=dt.date(2000, 1, 1),
        latest=today + dt.timedelta(days=31),
    )


def load_usage_file(
    session: Session,
    path: Path,
    source: SourceDefinition,
    *,
    strict: bool = False,
    replace: bool = False,
    allow_other_source: bool = False,
    batch_rows: int = 250_000,
    on_progress: Callable[[int], None] | None = None,
    dialect: Dialect = Dialect(),
    file_name: str | None = None,
) -> LoadResult:
    """Load the usage file at ``path`` from ``source``; ``file_name`` is the name the feed is
    kept under when it is not the path (a batch from the API, written to a file to be read)."""
    path = Path(path)
    if not path.is_file():
        raise ChargebackError(f"{path}: no such file")
    if (too_long := path_problem(path)) is not None:
        raise ChargebackError(f"{excerpt(str(path))}: {too_long}; nothing was loaded")
    result = LoadResult(feed_id=None, source=source.name, file_name=file_name or str(path))
    scan = scan_file(path)  # the text check now, the digest on another thread meanwhile
    locks.lock_usage(session)  # before anything is read: hashes and record ids hold until the commit
    ctx = mapping_context(session)
    with contextlib.closing(
        read_usage(path, source, ctx, batch_rows=batch_rows, on_progress=on_progress, scan=scan, dialect=dialect)
    ) as batches:  # closed however the load ends, so its reading threads stop
        return _load(session, path, source, batches, result, scan=scan, strict=strict, replace=replace,
                     allow_other_source=allow_other_source)


def _load(session: Session, path: Path, source: SourceDefinition, batches: Iterator[UsageBatch], result: LoadResult,
          *, scan: FileScan, strict: bool, replace: bool, allow_other_source: bool,
          folded: pl.DataFrame | None = None) -> LoadResult:
    """Store the batches of one file in one transaction. ``folded``, when the batches' daily
    sums were summed elsewhere (billing.jobs.usage_spark), is stored instead of summing the
    rows here, less the rows an earlier feed already loaded."""
    first = next(batches)  # reading and checking start while the digest is finished
    result.feed_kind = first.feed_kind
    if first.refused:
        raise ProblemsError(list(first.problems), f"{path}: the file cannot be loaded; nothing was loaded")
    earlier = usage_store.feed_with_hash(session, source.name, scan.digest)
    if earlier is not None and not replace:
        if locks.waited(session):  # the command this one waited for loaded it
            raise ChargebackError(f"{path}: this file was loaded as feed {earlier.id} by another command "
                                  f"({earlier.loaded_by}) at {earlier.loaded_at:%Y-%m-%d %H:%M} while this one waited; "
                                  f"nothing was done")
        result.already_loaded_as = earlier.id
        return result
    elsewhere = usage_store.feed_with_hash_elsewhere(session, source.name, scan.digest)
    if elsewhere is not None and not allow_other_source:
        raise _loaded_elsewhere(path, source, elsewhere, f"the same file was loaded as feed {elsewhere.id}")
    others = OtherSources(session, source.name, check=not allow_other_source)
    sample = IdSample()
    user, now = audit.current_user(), audit.now()
    feed_id = usage_store.create_feed(session, source=source.name, file_name=result.file_name, digest=scan.digest,
                                      format=source.format, user=user, at=now)
    result.feed_id = feed_id
    seen_ids: dict[str, usage_store.LoadedIds] = {}
    replaced: dict[int, None] = {}
    daily = DailySums()  # touched by the storing thread only, until it is shut down
    dropped = DailySums()  # with ``folded``: the rows found loaded by an earlier feed
    part_no = 0
    months: set[str] = set()

    file_problems: list[Problem] = []
    # Encoding a batch as Parquet and summing it per day run on one other thread while the next
    # batch is read and checked; the session is used on this thread only.
    storing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    queued: deque[tuple[int, Future]] = deque()

    def store(keep: int) -> None:
        while len(queued) > keep:
            number, encoded = queued.popleft()
            result.usage_rows += usage_store.insert_rows(session, feed_id, source.name, encoded.result(), part_no=number)

    try:
        for batch in itertools.chain([first], batches):
            tally = batch.tally
            result.rows_read += tally.rows_read
            result.rows_loaded += tally.good
            result.rows_rejected += tally.rejected
            result.rows_duplicate += tally.duplicates
            result.rows_conflict += tally.conflicts
            result.rows_excluded += tally.excluded
            result.quantity_read = exact_sum((result.quantity_read, tally.quantity_read))
            result.cost_read = exact_sum((result.cost_read, tally.cost_read))
            _count_problems(result, batch.problems)
            file_problems += [p for p in batch.problems if p.code in FILE_LEVEL]
            usage_store.insert_rejects(session, feed_id, errors(batch.problems))
            misread = [p for p in batch.problems if p.code is ProblemCode.NUMBER_FORMAT]
            if misread:  # numbers written another way than the file is read: any of them may be misread
                raise ProblemsError(misread[:20], f"{path}: {len(misread):,} number(s) in the first {result.rows_read:,} "
                                                  f"rows are not written the way the file is read; nothing was loaded")
            if strict and errors(batch.problems):
                raise ProblemsError(result.problems, f"{path}: bad rows and strict loading: nothing was loaded",
                                    asks_for=(Ask.STRICT,))
            rows = batch.rows
            if rows.height == 0:
                continue
            by_month = dict(usage_store.month_parts(rows))
            shut = _closed_months(session, sorted(by_month.keys() - months))
            if shut:
                count = sum(by_month[month].height for month in shut)
                meanwhile = " (closed by another command while this load waited)" if locks.waited(session) else ""
                raise ChargebackError(
                    f"{path}: {count:,} row(s) fall in the closed month {', '.join(shut)}{meanwhile}; closed months never "
                    f"change, so nothing was loaded. Date corrections in an open month (or issue a credit note with "
                    f"`chargeback adjust`), or ask finance to reopen {shut[0]}"
                )
            for month, part in by_month.items():
                others.check(path, source, month, part.get_column("record_id"))
            for month in sorted(by_month.keys() - months):
                previous = [f for f in usage_store.active_feeds_for(session, source.name, {month}) if f.id != feed_id]
                excluded = {feed_id} | ({f.id for f in previous} if replace else set())
                if replace:
                    replaced.update(dict.fromkeys(f.id for f in previous))
                seen_ids[month] = usage_store.LoadedIds(session, source.name, month, exclude_feeds=excluded)
                months.add(month)
                _refuse_too_many_months(path, months)
            for month, part in by_month.items():  # the parts of a split record share its row and its month
                if len(seen_ids[month]):
                    resent = against_earlier(part, seen_ids[month].earlier(part, CONTENT), CONTENT, file=str(path),
                                             id_column=batch.id_column)
                    if folded is not None and resent.rows.height < part.height:
                        dropped.add(part.join(resent.rows.select("row_no", "record_id"), on=["row_no", "record_id"],
                                              how="anti"))
                    by_month[month] = resent.rows
                    result.rows_duplicate += resent.duplicates
                    result.rows_conflict += resent.conflicts
                    result.rows_loaded -= resent.duplicates + resent.conflicts
                    _count_problems(result, resent.problems)
                    usage_store.insert_rejects(session, feed_id, resent.problems)
                    if strict and resent.problems:
                        raise ProblemsError(result.problems, f"{path}: records loaded before with other values and "
                                                             f"strict loading: nothing was loaded", asks_for=(Ask.STRICT,))
            parts = list(by_month.items())
            result.quantity_loaded = exact_sum([result.quantity_loaded, *(_sum(part, "quantity") for _, part in parts)])
            result.cost_loaded = exact_sum([result.cost_loaded, *(_sum(part, "cost") for _, part in parts)])
            for _, part in parts:
                _add_per_invoice(result.provider_invoices, part)
            part_no += 1
            queued.append((part_no, storing.submit(_encode, parts, daily if folded is None else None, sample)))
            store(1)
        store(0)
    finally:
        storing.shutdown(wait=True, cancel_futures=True)

    if errors(file_problems):
        raise ProblemsError(file_problems, f"{path}: the file cannot be loaded; nothing was loaded")
    for what, total in (("quantities", result.quantity_loaded), ("costs", result.cost_loaded)):
        if abs(total) >= FEED_TOTAL:
            raise ChargebackError(f"{path}: its {what} add up to {plain(total, grouped=True)}, more than the "
                                  f"{plain(FEED_TOTAL, grouped=True)} a feed may hold (billing/core/limits.py); split the "
                                  f"file; nothing was loaded")
    if folded is not None:
        folded = less(folded, dropped.total()) if dropped.held else folded
        if folded.height:
            usage_store.insert_daily(session, feed_id, source.name, folded)
    elif daily.held:
        usage_store.insert_daily(session, feed_id, source.name, daily.total())
    usage_store.mark_replaced(session, list(replaced), feed_id)
    usage_store.finish_feed(
        session, feed_id, months=sorted(months), rows_read=result.rows_read, rows_loaded=result.rows_loaded,
        rows_rejected=result.rows_rejected, rows_duplicate=result.rows_duplicate, rows_conflict=result.rows_conflict,
        quantity_total=result.quantity_loaded, cost_total=result.cost_loaded, id_sample=sample.encode(),
    )
    result.months = sorted(months)
    result.replaced_feeds = list(replaced)
    from billing.store.charges import rated_months

    result.rated_months = sorted(set(rated_months(session)) & months)
    audit.record(session, "usage.load", f"feed {feed_id} {Path(result.file_name).name}", result.reconciliation())
    if others.overlapped or elsewhere is not None:
        held = sorted({f"feed {f.id} ({f.source})" for f in [*others.overlapped, *([elsewhere] if elsewhere else [])]})
        audit.record(session, "usage.other-source", f"feed {feed_id} {path.name}",
                     f"loaded under another source although {', '.join(held)} already hold records of it")
    return result


def less(sums: pl.DataFrame, taken: pl.DataFrame) -> pl.DataFrame:
    """Daily sums (billing.feeds.daily.DailySums.total) less the sums ``taken`` of some of their
    rows; a key left with no row goes."""
    keys = list(SUM_KEYS)
    joined = sums.join(taken.rename({"quantity": "_q", "cost": "_c", "rows": "_r"}), on=keys, how="left",
                       nulls_equal=True, maintain_order="left")
    return joined.select(
        *keys, (pl.col("quantity") - pl.col("_q").fill_null(0)).cast(sums.schema["quantity"]).alias("quantity"),
        (pl.col("cost") - pl.col("_c").fill_null(0)).cast(sums.schema["cost"]).alias("cost"),
        (pl.col("rows") - pl.col("_r").fill_null(0)).alias("rows"),
    ).filter(pl.col("rows") > 0)


def _closed_months(session: Session, months: list[str]) -> list[str]:
    """Of ``months`` (first met in this load), those closed. Each is locked shared first, so a
    month found open stays open until the load commits: a close of it waits for the load, and
    then finds its usage changed since it was rated."""
    for month in months:
        locks.lock_month(session, month, shared=True)
    return [month for month in months if charge_store.period_status(session, month) == "closed"]


def _count_problems(result: LoadResult, problems: Sequence[Problem]) -> None:
    result.problem_count += len(problems)
    result.problems += list(problems[: max(0, PROBLEMS_KEPT - len(result.problems))])


def _refuse_too_many_months(path: Path, months: set[str]) -> None:
    """A feed keeps its months in the store as one text of :data:`~billing.core.limits.USAGE_FEED_MONTHS`
    characters: at most 25 months."""
    most = months_that_fit(USAGE_FEED_MONTHS)
    if len(months) > most:
        raise ChargebackError(f"{path}: the file has usage in more than {most} months ({min(months)} to {max(months)} "
                              f"so far); a feed may cover at most {most} months: split the file, e.g. by year; "
                              f"nothing was loaded")


def _encode(parts: list[tuple[str, pl.DataFrame]], daily: DailySums | None, sample: IdSample) -> list[tuple[str, int, bytes]]:
    """A batch's rows by month as Parquet parts, their daily sums added to ``daily`` (unless
    they were summed elsewhere) and their ids to ``sample``: run on the storing thread (one, so
    batches are added in order)."""
    for _, part in parts:
        if daily is not None:
            daily.add(part)
        sample.add(part.get_column("record_id"))
    return usage_store.encode_rows(parts)


class OtherSources:
    """The record-id samples of other sources' active feeds, month by month (billing.feeds.overlap):
    a batch holding any of their ids is refused, unless ``check`` is off (``--allow-other-source``),
    when the feeds it repeats are only noted in ``overlapped``."""

    def __init__(self, session: Session, source: str, *, check: bool):
        self.session, self.source, self.enforce = session, source, check
        self._samples: dict[str, tuple[list[tuple[usage_store.FeedInfo, list[str]]], pl.Series | None]] = {}
        self.overlapped: list[usage_store.FeedInfo] = []  # feeds whose records this one repeats

    def check(self, path: Path, source: SourceDefinition, month: str, ids: pl.Series) -> None:
        if month not in self._samples:
            found = [(feed, sample) for feed, sample in usage_store.samples_elsewhere(self.session, self.source, month) if sample]
            union = pl.Series([i for _, sample in found for i in sample], dtype=pl.String).unique()
            self._samples[month] = (found, union.implode() if found else None)
        found, union = self._samples[month]
        if union is None:
            return
        hits = ids.filter(ids.is_in(union))  # the batch probes the small samples
        if not hits.len():
            return
        hit = set(hits.to_list())
        for feed, sample in found:
            repeated = sorted(i for i in sample if i in hit)
            if not repeated:
                continue
            if feed not in self.overlapped:
                self.overlapped.append(feed)
            if self.enforce:
                examples = ", ".join(repr(i) for i in repeated[:3])
                raise _loaded_elsewhere(path, source, feed, f"its {month} records include record ids of feed {feed.id} "
                                                            f"({examples}{' ...' if len(repeated) > 3 else ''})")


def _loaded_elsewhere(path: Path, source: SourceDefinition, feed: usage_store.FeedInfo, how: str) -> NeedsConfirmation:
    return NeedsConfirmation(
        f"{path}: nothing was loaded under source {source.name}: if the usage source was mistyped, load it under "
        f"{feed.source}; if {source.name} truly sends these same records too, load it again, allowing "
        f"another source's records",
        [f"{path} was already loaded under source {feed.source}: {how} ({Path(feed.file_name).name}, loaded "
         f"{feed.loaded_at:%Y-%m-%d}); loading it under {source.name} too would charge these records twice"],
        asks_for=(Asked(Ask.SOURCE, feed.source), Ask.ALLOW_OTHER_SOURCE), either=True,
    )


def _add_per_invoice(totals: dict[str, Decimal], part: pl.DataFrame) -> None:
    """Add the cost of ``part`` per provider invoice (FOCUS InvoiceId) to ``totals``; a part
    without any InvoiceId (our usage format, FOCUS before 1.2) adds nothing."""
    invoices = part.get_column("invoice_id")
    if invoices.null_count() == part.height:
        return
    for invoice, cost in part.group_by("invoice_id").agg(pl.col("cost").sum()).iter_rows():
        totals[invoice or ""] = exact_sum((totals.get(invoice or "", ZERO), ZERO if cost is None else Decimal(cost)))


def per_invoice_line(totals: dict[str, Decimal], cost_column: str, *, shown: int = 12) -> str:
    """The load's line of cost per provider invoice, e.g. ``BilledCost per provider invoice
    (InvoiceId): INV-1 20.76; INV-2 31.45``; empty when the feed names no invoice."""
    if not totals:
        return ""
    named = sorted((k, v) for k, v in totals.items() if k)
    parts = [f"{invoice} {_total(cost)}" for invoice, cost in named[:shown]]
    if len(named) > shown:
        rest = sum((cost for _, cost in named[shown:]), ZERO)
        parts.append(f"{len(named) - shown:,} more {_total(rest)}")
    if "" in totals:
        parts.append(f"rows without an InvoiceId {_total(totals[''])}")
    return f"{cost_column} per provider invoice (InvoiceId): {'; '.join(parts)}"


def _sum(frame: pl.DataFrame, column: str) -> Decimal:
    if frame.height == 0:
        return ZERO
    value = frame[column].sum()
    return ZERO if value is None else Decimal(value)

