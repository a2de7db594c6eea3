"""Load usage with Apache Spark: ``chargeback usage load PATH --engine spark`` (docs/scale-out.md).

The work that grows with the rows runs as a Spark job per file: reading the records with
their physical line (CSV) or row index (Parquet), the usage format's parsers and rules
(billing.feeds.rules, compiled by billing.feeds.rules_spark), record ids repeated within the
file, and the daily sums. What comes back to this process is small or needed by the store: the
problems of the bad rows, the repeated ids' rows, the counts and control totals, the daily
sums, and the good rows, which the store keeps as it keeps a local load's. Each file is then
landed by the local loader's own code (billing.jobs.usage._load): the same feed record,
quarantine, checks against earlier feeds and closed months, and reconciliation, all in the
command's one transaction.

Our usage format and FOCUS, in CSV (one record per line, the delimiter ``--delimiter`` and
the decimal mark ``--decimal`` give) and Parquet. A FOCUS file's rows are checked and mapped
by the local loader's own code in Spark's Python workers (billing.feeds.focus_spark).
Workbooks load with the local engine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy.orm import Session

from billing.core.limits import path_problem
from billing.core.problems import Ask, Asked, ChargebackError, Problem, ProblemCode, Severity, SourceRef, excerpt
from billing.feeds.daily import SUM_KEYS
from billing.feeds.raw import PARQUET_SUFFIXES, Table, column_names, open_table, scan_file
from billing.feeds.read import UsageBatch
from billing.feeds.reconcile import Reconciliation
from billing.feeds.first_seen import repeat_problems
from billing.feeds.focus import FocusMapping
from billing.feeds.focus_spark import CHECKED, PROBLEMS, checked_focus, finished_focus, problems_of
from billing.feeds.resent import WAS
from billing.feeds.rows import ROW_SCHEMA, row_schema, select_rows
from billing.feeds.rules_spark import DECIMAL_TYPE, checked
from billing.feeds.sources import FeedFormat, SourceDefinition, check_source
from billing.feeds.usage_format import UsageMapping
from billing.files.dialect import Dialect
from billing.jobs.usage import LoadResult, _load, mapping_context
from billing.store import locks

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DEFAULT_MASTER", "SparkUnavailable", "spark_session", "load_usage_spark", "refuse_workbooks",
           "usage_files"]

DEFAULT_MASTER = "local[2]"
_SURPLUS_FIELDS = 16  # fields beyond the header read (and shown) of ragged records, as billing.feeds.raw
_ROWS_BACK = 250_000  # good rows handed to the store at a time
_shared: list[SparkSession] = []  # a session kept across commands (the tests': share_session)
_INSTALL = ("the Spark engine needs pyspark and Java 17: pip install 'chargeback[spark]' (or pip install pyspark) "
            "and apt-get install openjdk-17-jre-headless")


class SparkUnavailable(ChargebackError):
    """pyspark or Java is missing: one line saying what to install."""


def share_session(spark: SparkSession | None) -> None:
    """Keep ``spark`` for every later command in this process instead of a session each (tests);
    None: a session each again."""
    _shared[:] = [spark] if spark is not None else []


def spark_session(master: str | None = None, *, remote: str | None = None) -> SparkSession:
    """A Spark session for a load: ``master`` (default ``local[2]``) or a Spark Connect
    ``remote`` (``sc://HOST``). Raises :class:`SparkUnavailable` without pyspark or Java."""
    if _shared:
        return _shared[0]
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(_INSTALL) from None
    if remote is None and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise SparkUnavailable(_INSTALL)
    builder = SparkSession.builder.appName("chargeback usage load")
    if remote is not None:
        builder = builder.remote(remote)
    else:
        master = master or DEFAULT_MASTER
        builder = builder.master(master).config("spark.ui.enabled", "false").config(
            "spark.ui.showConsoleProgress", "false")
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # FOCUS rows are mapped by this engine's code
            builder = builder.config("spark.sql.shuffle.partitions", "8").config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start, or the cluster cannot be reached
        raise SparkUnavailable(f"Spark did not start ({excerpt(' '.join(str(exc).split()), 200)}); {_INSTALL}") from None
    configure(spark)
    return spark


def configure(spark: SparkSession) -> None:
    """What the load's Spark SQL relies on: values that do not parse are null, never an error
    (the rules report them), and dates stay calendar dates."""
    # pyspark's own notice about the pandas release it was tested with, which the load never uses
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    spark.conf.set("spark.sql.ansi.enabled", "false")
    with contextlib.suppress(Exception):  # not on Spark Connect
        spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def usage_files(path_text: str) -> list[Path]:
    """The files a load's PATH names: a file, a glob (``usage/*.csv``) or a directory, read
    whole (a Hive-partitioned one such as ``month=2026-03/part-0.parquet`` too), in path order;
    a directory's CSV and Parquet files only."""
    path = Path(path_text)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in {".csv", *PARQUET_SUFFIXES}
                       and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
        if not found:
            raise ChargebackError(f"{path}: the directory holds no .csv or .parquet file; nothing was loaded")
        return found
    if any(c in path_text for c in "*?["):
        anchor = Path(path_text.split("*")[0].split("?")[0].split("[")[0] or ".")
        base = anchor if anchor.is_dir() else anchor.parent
        pattern = str(Path(path_text).relative_to(base)) if Path(path_text).is_relative_to(base) else path_text
        found = sorted(p for p in base.glob(pattern) if p.is_file())
        if not found:
            raise ChargebackError(f"{path_text}: no file matches; nothing was loaded")
        return found
    raise ChargebackError(f"{path}: no such file or directory")


def refuse_workbooks(paths: list[Path]) -> None:
    """A workbook is refused by the Spark engine, before Spark starts: it holds at most
    1,048,576 rows, which the local engine reads in seconds, and Spark reads no workbook."""
    for path in paths:
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            raise ChargebackError(f"{path}: the Spark engine reads CSV and Parquet files; load a workbook with the "
                                  f"local engine; nothing was loaded", asks_for=(Ask.LOCAL_ENGINE,))


def load_usage_spark(session: Session, path: Path, source: SourceDefinition, spark: SparkSession, *,
                     strict: bool = False, replace: bool = False, allow_other_source: bool = False,
                     dialect: Dialect = Dialect()) -> LoadResult:
    """Load one usage file as :func:`billing.jobs.usage.load_usage_file` does, with the rows'
    work done by ``spark``."""
    path = Path(path)
    if not path.is_file():
        raise ChargebackError(f"{path}: no such file")
    if (too_long := path_problem(path)) is not None:
        raise ChargebackError(f"{excerpt(str(path))}: {too_long}; nothing was loaded")
    refuse_workbooks([path])
    result = LoadResult(feed_id=None, source=source.name, file_name=str(path))
    scan = scan_file(path)
    locks.lock_usage(session)
    ctx = mapping_context(session)
    schema = row_schema(ctx)
    folded: pl.DataFrame | None = None
    problems = check_source(source, ctx)
    batches: list[UsageBatch]
    if any(p.severity is Severity.ERROR for p in problems):
        batches = [_refused(problems)]
    else:
        table, found = open_table(path, scan=scan, dialect=dialect)
        problems += found
        mapping: UsageMapping | FocusMapping | None = None
        if table is not None:
            prepare = UsageMapping.prepare if source.format is FeedFormat.USAGE else FocusMapping.prepare
            mapping, found = prepare(table, source, ctx)
            problems += found
        if table is None or mapping is None:
            batches = [_refused(problems)]
        else:
            with tempfile.TemporaryDirectory(prefix="chargeback-spark-") as spill:
                with _job_failure(path, spark):
                    fold = _fold(spark, path, table, mapping, dialect, Path(spill) / "rows" if _local(spark) else None)
                if fold.refusal is not None:
                    batches = [_refused([*problems, fold.refusal])]
                else:
                    return _load(session, path, source, _batches(fold, problems, schema, mapping), result, scan=scan,
                                 strict=strict, replace=replace, allow_other_source=allow_other_source,
                                 folded=fold.daily)
    return _load(session, path, source, iter(batches), result, scan=scan, strict=strict, replace=replace,
                 allow_other_source=allow_other_source, folded=folded)


def _local(spark: SparkSession) -> bool:
    """Whether the executors share this machine's file system (a local master)."""
    try:
        return str(spark.sparkContext.master).startswith("local")
    except Exception:  # Spark Connect has no SparkContext here
        return False


# --- the Spark job ----------------------------------------------------------------------------------

@dataclass(slots=True)
class _Fold:
    refusal: Problem | None = None
    problems: list[Problem] | None = None
    rows: pl.DataFrame | None = None
    row_files: list[Path] | None = None  # the good rows as Parquet files Spark wrote, when not in ``rows``
    daily: pl.DataFrame | None = None
    tally: Reconciliation | None = None


def _fold(spark: SparkSession, path: Path, table: Table, mapping: UsageMapping | FocusMapping, dialect: Dialect,
          spill: Path | None = None) -> _Fold:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    file = table.file
    if path.suffix.lower() in PARQUET_SUFFIXES:
        raw, in_file, refusal = _parquet_records(spark, path, table)
    else:
        raw, in_file, refusal = _csv_records(spark, path, table, dialect)
    if refusal is not None:
        return _Fold(refusal=refusal)
    focus = isinstance(mapping, FocusMapping)
    rules: list[Any] = []
    if isinstance(mapping, FocusMapping):
        df = checked_focus(raw, mapping, table.header_row)
    else:
        df, rules = checked(raw, mapping)
    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        found = _rule_problems(df, rules, file) if not focus else [
            p for _, pickled in _rows_of(df.filter(F.col(PROBLEMS).isNotNull()).select("row_no", PROBLEMS))
            for p in problems_of(pickled)]
        content = mapping.content

        # record ids repeated within the file: the first good row wins
        claimed = df.filter(~F.col("error") & F.col("key").isNotNull())
        claimed = claimed.withColumn("_original", F.min("row_no").over(Window.partitionBy("key")))
        repeated = claimed.filter(F.col("row_no") > F.col("_original")).select("row_no", "key", "_original", *content)
        originals = claimed.filter(F.col("row_no") == F.col("_original")).select(
            F.col("row_no").alias("_original"), *[F.col(c).alias(c + WAS) for c in content])
        compared = _to_polars(repeated.join(originals, "_original", "left"))
        again: list[Problem] = []
        conflicted: list[int] = []
        if compared is not None and compared.height:
            compared = compared.sort("row_no")
            again, conflicted = repeat_problems(compared, file=file, column=mapping.id_header, content=content)
        duplicates = (compared.height if compared is not None else 0) - len(conflicted)

        first = claimed.filter(F.col("row_no") == F.col("_original"))
        excluded, kept = 0, None
        if focus:  # a row of an excluded charge category claims its id, and is left out
            first = first.persist(StorageLevel.MEMORY_AND_DISK)
            tallied = first.agg(F.count(F.lit(1)).alias("first"),
                                F.sum(F.col("excluded").cast("long")).alias("excluded")).first()
            excluded = tallied["excluded"] or 0
            kept = tallied["first"] - excluded
            wanted = [c for c in CHECKED if c not in ("key", "error", "excluded", "quantity_read", "cost_read", PROBLEMS)]
            good = finished_focus(first.filter(~F.col("excluded")).select(*wanted), mapping, table.header_row)
        else:
            good = first.select(*_row_columns())
        good = good.persist(StorageLevel.MEMORY_AND_DISK)
        counts = df.agg(
            F.count(F.lit(1)).alias("read"), F.sum(F.col("error").cast("long")).alias("rejected"),
            F.sum("quantity_read").alias("quantity_read"), F.sum("cost_read").alias("cost_read")).first()
        daily = good.groupBy(*SUM_KEYS).agg(
            F.sum("quantity").cast(DECIMAL_TYPE).alias("quantity"),
            F.sum(F.coalesce(F.col("cost"), F.lit(0).cast(DECIMAL_TYPE))).cast(DECIMAL_TYPE).alias("cost"),
            F.count(F.lit(1)).alias("rows"))
        daily_frame = _to_polars(daily)
        row_files = None
        if spill is not None:  # the good rows written by the executors, read back in parts: bounded memory here
            good.sortWithinPartitions("row_no").write.mode("overwrite").parquet(str(spill))
            row_files, rows = sorted(spill.glob("*.parquet")), None
        else:
            rows = _to_polars(good)
        loaded = {"rows": 0, "quantity": None, "cost": None}
        if daily_frame is not None and daily_frame.height:  # the good rows' totals are their daily sums'
            loaded = {"rows": int(daily_frame.get_column("rows").sum()),
                      "quantity": daily_frame.get_column("quantity").sum(), "cost": daily_frame.get_column("cost").sum()}
        good.unpersist()
        if focus:
            first.unpersist()
    finally:
        df.unpersist()
    rows = rows.sort("row_no", maintain_order=True) if rows is not None else None
    zero = Decimal(0)
    tally = Reconciliation(
        rows_read=counts["read"], good=loaded["rows"] if kept is None else kept, rejected=counts["rejected"] or 0,
        duplicates=duplicates, conflicts=len(conflicted), excluded=excluded, rows_loaded=loaded["rows"],
        blank_rows=in_file - counts["read"],
        quantity_read=counts["quantity_read"] or zero, quantity_loaded=loaded["quantity"] or zero,
        cost_read=counts["cost_read"] or zero, cost_loaded=loaded["cost"] or zero, complete=True)
    sums = None
    if daily_frame is not None and daily_frame.height:
        sums = daily_frame.select(
            pl.col("usage_date").cast(pl.Date), *[pl.col(c).cast(pl.String) for c in SUM_KEYS[1:]],
            pl.col("quantity").cast(pl.Decimal(38, 12)), pl.col("cost").cast(pl.Decimal(38, 12)),
            pl.col("rows").cast(pl.Int64))
    # in row order, each row's own problems before its repeat's (billing.feeds.read)
    problems = sorted([*found, *again], key=lambda p: p.source.row or 0)
    return _Fold(problems=problems, rows=rows, row_files=row_files, daily=sums, tally=tally)


def _rule_problems(df: DataFrame, rules: list[Any], file: str) -> list[Problem]:
    """The problems of the bad rows of :func:`billing.feeds.rules_spark.checked`, in row
    order, then rule order."""
    from pyspark.sql import functions as F

    failed = F.lit(False)
    for i in range(len(rules)):
        failed = failed | F.col(f"_m{i}")
    problems: list[tuple[int, int, Problem]] = []
    n = len(rules)
    shown = _to_polars(df.filter(failed).select(
        "row_no", *[F.col(f"_m{i}").alias(f"m{i}") for i in range(n)], *[F.col(f"_t{i}").alias(f"t{i}") for i in range(n)]))
    for row in (shown.iter_rows() if shown is not None else ()):
        for i, rule in enumerate(rules):
            if row[1 + i]:  # a message of null is the code itself, as billing.feeds.values.run_checks has it
                problems.append((row[0], i, Problem(
                    code=rule.code, message=row[1 + n + i] or rule.code.value,
                    source=SourceRef(file=file, row=row[0], column=rule.column), severity=rule.severity,
                    hint=rule.hint, asks_for=rule.asks_for, asks_either=rule.asks_either)))
    problems.sort(key=lambda item: (item[0], item[1]))
    return [p for _, _, p in problems]


def _rows_of(df: DataFrame) -> list[tuple[Any, ...]]:
    """A small Spark result's rows, in the order of its first column."""
    frame = _to_polars(df)
    return frame.sort(frame.columns[0]).rows() if frame is not None else []


def _row_columns() -> list[Any]:
    from pyspark.sql import functions as F

    present = {"row_no", "record_id", "usage_date", "cost_center", "business_line", "service", "tier", "unit",
               "quantity", "cost", "description", "note", "dimension_value"}
    return [F.col(name) if name in present else F.lit(None).cast("string").alias(name) for name in ROW_SCHEMA]


def _to_polars(df: DataFrame) -> pl.DataFrame | None:
    """A (small, or wanted here) Spark result as a polars frame, through Arrow: decimals stay
    exact."""
    table = df.toArrow()
    return pl.from_arrow(table) if table.num_rows else pl.from_arrow(table.slice(0, 0))  # type: ignore[return-value]


def _csv_records(spark: SparkSession, path: Path, table: Table,
                 dialect: Dialect) -> tuple[DataFrame, int, Problem | None]:
    """The records of a CSV file as text columns ``c0`` … with ``row_no`` (the physical line,
    the header being line 1), ``extra`` and ``fields`` as billing.feeds.raw reads them; the
    blank lines counted; a problem when a quoted value holds a line break (one record per
    line is read here)."""
    from pyspark.sql import functions as F

    width = len(table.header)
    delimiter = dialect.delimiter
    lines = spark.read.text(str(path)).withColumn("_id", F.monotonically_increasing_id())
    quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
    parts = lines.groupBy((F.col("_id") / F.lit(1 << 33)).cast("long").alias("p")).agg(
        F.count(F.lit(1)).alias("n"), F.min(F.when(quotes % 2 == 1, F.col("_id"))).alias("odd")).collect()
    offsets: dict[int, int] = {}
    start = 0
    odd: list[int] = []
    for part in sorted(parts, key=lambda p: p["p"]):
        offsets[part["p"]] = start
        if part["odd"] is not None:
            odd.append(start + (part["odd"] - (part["p"] << 33)) + 1)
        start += part["n"]
    if odd:
        line = min(odd)
        return lines, 0, Problem(
            code=ProblemCode.FILE_UNREADABLE, source=SourceRef(file=table.file, row=line),
            message="a quoted value holds a line break (or a quote is never closed): the Spark engine reads one record "
                    "per line; nothing was loaded",
            hint="export it without line breaks in values, or load it with the local engine",
            asks_for=(Asked(Ask.LOCAL_ENGINE),))
    offset = F.create_map(*[F.lit(x) for kv in offsets.items() for x in kv])
    pid = (F.col("_id") / F.lit(1 << 33)).cast("long")
    line_no = F.element_at(offset, pid) + (F.col("_id") - pid * F.lit(1 << 33)) + F.lit(1)
    lines = lines.withColumn("row_no", line_no.cast("long")).filter(F.col("row_no") > table.header_row)
    records_in_file = start - table.header_row  # lines after the header, blank ones too
    names = column_names(width + _SURPLUS_FIELDS)
    ddl = ", ".join(f"{n} STRING" for n in names)
    parsed = F.from_csv(F.col("value"), ddl, {"sep": delimiter, "quote": '"', "escape": '"', "mode": "PERMISSIVE"})
    unquoted = F.regexp_replace("value", '"(?:[^"]|"")*"', "")
    fields = F.length(unquoted) - F.length(F.regexp_replace(unquoted, _regex_literal(delimiter), "")) + F.lit(1)
    records = lines.select("row_no", parsed.alias("_r"), fields.cast("int").alias("_fields"))
    surplus = F.array(*[F.coalesce(F.col(f"_r.{n}"), F.lit("")) for n in names[width:]])
    records = records.select(
        "row_no", *[F.col(f"_r.{n}").alias(n) for n in names[:width]],
        F.when(F.col("_fields") > width,  # joined, without the delimiters that end it (as billing.feeds.raw)
               F.regexp_replace(F.array_join(surplus, delimiter), _regex_literal(delimiter) + "+$", "")).alias("extra"),
        F.when(F.col("_fields") != width, F.col("_fields")).alias("fields"))
    return _without_blanks(records, width), records_in_file, None


def _regex_literal(text: str) -> str:
    import re

    return re.escape(text)


def _parquet_records(spark: SparkSession, path: Path, table: Table) -> tuple[DataFrame, int, Problem | None]:
    """The rows of a Parquet file as text columns ``c0`` … with ``row_no``: the row's index in
    the file from 1, as billing.feeds.raw reads it."""
    from pyspark.sql import functions as F

    frame = spark.read.parquet(str(path))
    names = column_names(len(table.header))
    records = frame.select(
        (F.col("_metadata.row_index") + 1).cast("long").alias("row_no"),
        *[F.col("`" + h.replace("`", "``") + "`").cast("string").alias(n) for h, n in zip(table.header, names)],
        F.lit(None).cast("string").alias("extra"), F.lit(None).cast("int").alias("fields"))
    return _without_blanks(records, len(table.header)), frame.count(), None


def _without_blanks(records: DataFrame, width: int) -> DataFrame:
    """The records whose fields are not all empty or spaces (billing.feeds.raw): the others are
    blank lines, counted as the records there were less those left."""
    from pyspark.sql import functions as F

    names = column_names(width)
    blank = (F.col(names[0]).isNull() | F.col(names[0]).rlike(r"(?U)^\s*$")) & F.col("extra").isNull()
    for n in names[1:]:
        blank = blank & F.coalesce(F.length(F.regexp_replace(F.col(n), r"(?U)^\s+|\s+$", "")), F.lit(0)).__eq__(0)
    return records.filter(~blank)


def _batches(fold: _Fold, problems: list[Problem], schema: dict[str, pl.DataType],
             mapping: UsageMapping | FocusMapping) -> Iterator[UsageBatch]:
    """The file as the batches billing.jobs.usage._load stores: the problems, the whole
    file's tally and, for FOCUS, its version with the first, the good rows in parts."""
    tally = fold.tally or Reconciliation()
    kind = mapping.version.describe() if isinstance(mapping, FocusMapping) else ""
    found = [*problems, *(fold.problems or [])]
    if tally.rows_read == 0:
        found.append(Problem(code=ProblemCode.FILE_EMPTY, severity=Severity.WARNING,
                             message="the file has a header but no data rows", source=SourceRef(file=mapping.file)))
    first = True
    for part in _row_parts(fold):
        yield UsageBatch(rows=select_rows(part, schema), problems=tuple(found) if first else (),
                         rows_read=tally.rows_read if first else 0, tally=tally if first else Reconciliation(),
                         id_column=mapping.id_header, feed_kind=kind if first else "")
        first = False


def _row_parts(fold: _Fold) -> Iterator[pl.DataFrame]:
    """The good rows in parts of at most ``_ROWS_BACK`` (at least one part, maybe empty)."""
    if fold.row_files is None:
        rows = fold.rows if fold.rows is not None else pl.DataFrame(schema=ROW_SCHEMA)
        for start in range(0, max(rows.height, 1), _ROWS_BACK):
            yield rows.slice(start, _ROWS_BACK)
        return
    given = False
    for file in fold.row_files:
        frame = pl.scan_parquet(file)
        start = 0
        while (part := frame.slice(start, _ROWS_BACK).collect()).height:
            yield part
            given, start = True, start + _ROWS_BACK
    if not given:
        yield pl.DataFrame(schema=ROW_SCHEMA)


def _refused(problems: list[Problem]) -> UsageBatch:
    return UsageBatch(rows=pl.DataFrame(schema=ROW_SCHEMA), problems=tuple(problems), rows_read=0,
                      tally=Reconciliation(complete=False), refused=True)


_MEMORY = ("with a local master Spark's memory is the command's JVM: give it more with spark.driver.memory "
           "(a line 'spark.driver.memory 6g' in $SPARK_CONF_DIR/spark-defaults.conf; docs/scale-out.md)")


@contextlib.contextmanager
def _job_failure(path: Path, spark: SparkSession) -> Iterator[None]:
    """A Spark job that fails (a task out of memory, the JVM gone, an executor lost) ends the
    load with one line saying so, nothing loaded: never a Java stack trace."""
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover - pyspark brings py4j
        yield
        return
    try:
        yield
    except (Py4JError, PySparkException, ConnectionError) as exc:
        text = _first_line(exc)
        memory = "OutOfMemoryError" in text or "Connection refused" in text or isinstance(exc, ConnectionError)
        raise ChargebackError(f"{path}: the Spark job failed ({excerpt(text, 200)}); nothing was loaded"
                              + (f"; {_MEMORY}" if memory and _local(spark) else "")) from None


def _first_line(exc: BaseException) -> str:
    """What a Spark or Py4J error says, on one line (its Java side may be gone)."""
    try:
        text = str(exc)
    except Exception:  # Py4JJavaError asks the JVM for its text
        text = ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = next((line for line in lines if "OutOfMemoryError" in line), None)
    return cause or (lines[0] if lines else type(exc).__name__)


@contextlib.contextmanager
def spark_for_load(master: str | None, remote: str | None) -> Iterator[SparkSession]:
    """A session for one command, stopped at its end (a local one with its JVM)."""
    spark = spark_session(master, remote=remote)  # says what to install when pyspark or Java is missing
    try:
        yield spark
    finally:
        if not _shared:
            with contextlib.suppress(Exception):  # a JVM that died with a failed job cannot be stopped: it is gone
                spark.stop()
